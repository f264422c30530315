"""Guards on the shape of a run: answer gates, the idle limit and the stall rule.

- Answer gates: no FINAL before at least one code block ran (`final_needs_code`), and optionally
  none before at least one sub-call (`final_needs_sub_call`). A gated FINAL is refused and the
  model told why; it counts as an idle reply.
- Idle limit: replies with neither code nor an accepted final answer (`max_idle_replies` in a row).
- Stall rule: the same code block, or the same sub-call prompt, in `stall_repeats` turns (the
  same prompt sent many times by one block, e.g. `ask_chunks` over equal chunks, is one), or
  `stall_iterations` turns of code in a row that printed nothing new.

The idle limit and the stall rule end in the fallback (rlm_engine.fallback) unless it is off;
they watch the top-level RLM only (a child RLM lives within its caller's code block, which
bounds it).
`Watch` reads the run's own events (CodeExecuted, SubCallStarted), so the loop only tells it
about replies. rlm_engine.guards holds the evidence and repeat notes; both are configured in
`GuardConfig`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlm_engine.config import GuardConfig
from rlm_engine.events import CodeExecuted, Event, SubCallStarted

# prompt variant -> default of each setting left at None in GuardConfig
DEFAULTS = {
    "small": {
        "final_needs_code": True,
        "final_needs_sub_call": False,
        "max_idle_replies": 3,
        "stall_repeats": 3,
        "stall_iterations": 4,
        "fallback": "answer",
    },
    "default": {
        "final_needs_code": False,
        "final_needs_sub_call": False,
        "max_idle_replies": 5,
        "stall_repeats": 3,
        "stall_iterations": 6,
        "fallback": "offer",
    },
}


@dataclass(frozen=True)
class Fired:
    """A guard that fired: its name (shown in the trace) and what the model is told."""

    guard: str
    message: str


class Watch:
    """The answer gates, the idle limit and the stall rule of one RLM."""

    def __init__(self, config: GuardConfig, *, small: bool, top: bool = True) -> None:
        defaults = DEFAULTS["small" if small else "default"]

        def pick(name: str) -> object:
            value = getattr(config, name, None)
            return defaults[name] if value is None else value

        self.final_needs_code = bool(pick("final_needs_code"))
        self.final_needs_sub_call = bool(pick("final_needs_sub_call"))
        self.max_idle_replies = int(pick("max_idle_replies"))  # type: ignore[call-overload]
        self.stall_repeats = int(pick("stall_repeats"))  # type: ignore[call-overload]
        self.stall_iterations = int(pick("stall_iterations"))  # type: ignore[call-overload]
        self.fallback = str(pick("fallback"))
        if not top:
            self.max_idle_replies = self.stall_repeats = self.stall_iterations = 0
        self.blocks_run = 0
        self.looked = False  # the engine's first look ran, and does not count as the model's code
        self.sub_calls = 0
        self.idle = 0
        self._turns: dict[str, set[int]] = {}  # code or prompt -> the turns it was sent in
        self._outputs: set[str] = set()
        self._new_output = False
        self._quiet_turns = 0
        self._repeat: str | None = None
        self.fallback_ran = False  # the fallback runs once per RLM
        self.offered: str | None = None  # the fallback's answer, once offered to the model

    def observe(self, event: Event) -> None:
        """Count what this RLM ran and asked (its own events only)."""
        if isinstance(event, CodeExecuted):
            self.blocks_run += 1
            self._count("code", event.code, event.iteration, "the same code block")
            output = _squash(event.output)
            if output and output not in self._outputs:
                self._outputs.add(output)
                self._new_output = True
        elif isinstance(event, SubCallStarted):
            self.sub_calls += 1
            self._count("prompt", event.prompt, event.iteration, "the same sub-call prompt")

    def _count(self, kind: str, text: str, turn: int, what: str) -> None:
        turns = self._turns.setdefault(f"{kind}:{_squash(text)}", set())
        turns.add(turn)
        if self.stall_repeats and len(turns) == self.stall_repeats:
            self._repeat = what

    def not_the_models(self) -> None:
        """The last block was the engine's (the first look of a question that counts, adds up
        or compares): the gate on answering before code waits for one of the model's own."""
        self.blocks_run = max(0, self.blocks_run - 1)
        self.looked = True

    def gate_final(self) -> Fired | None:
        """Why a final answer may not be accepted yet, if it may not."""
        if self.final_needs_code and self.blocks_run == 0:
            return Fired(
                "final_before_code", FINAL_BEFORE_OWN_CODE if self.looked else FINAL_BEFORE_CODE
            )
        if self.final_needs_sub_call and self.sub_calls == 0:
            return Fired("final_before_sub_call", FINAL_BEFORE_SUB_CALL)
        return None

    def idle_reply(self) -> Fired | None:
        """A reply with neither code nor an accepted answer; the idle limit when reached."""
        self.idle += 1
        if self.max_idle_replies and self.idle >= self.max_idle_replies:
            replies, self.idle = self.idle, 0
            return Fired("idle_replies", idle_limit(replies))
        return None

    def code_turn(self) -> Fired | None:
        """After a reply whose code ran: the stall rule, if it fires."""
        self.idle = 0
        self._quiet_turns = 0 if self._new_output else self._quiet_turns + 1
        self._new_output = False
        if self._repeat is not None:
            what, self._repeat = self._repeat, None
            return Fired("stall_repeat", stalled(f"{what} in {self.stall_repeats} turns"))
        if self.stall_iterations and self._quiet_turns >= self.stall_iterations:
            self._quiet_turns = 0
            turns = f"{self.stall_iterations} turns of code that printed nothing new"
            return Fired("stall_no_new_output", stalled(turns))
        return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


FINAL_BEFORE_CODE = (
    "Your FINAL(...) was not accepted: no code has run yet, so you have not seen anything of "
    "`context`. Write a ```repl block that searches or prints `context` first."
)
FINAL_BEFORE_OWN_CODE = (
    "Your FINAL(...) was not accepted: the first look shows only a few matches, and this "
    "question needs every matching document. Write a ```repl block that goes through all of "
    "`context` and computes the answer first."
)
FINAL_BEFORE_SUB_CALL = (
    "Your FINAL(...) was not accepted: this run asks for at least one sub-call first. Read a "
    "passage of `context` with llm_query(...) or ask(question, text), then answer."
)


def idle_limit(replies: int) -> str:
    return f"{replies} replies in a row had neither code that ran nor an accepted answer."


def stalled(what: str) -> str:
    return f"The run is going round in circles: {what}."
