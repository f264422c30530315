"""The offline model's time per root turn with and without llama.cpp KV-cache reuse.

One scripted conversation, the same in both modes: the small-model system prompt, a question
over a 1M-character corpus, then turns whose history grows by a fixed reply and a REPL output of
~2,000 characters each (what the small prompt clips outputs to). Each turn is one streamed call
of the real LocalProvider (`max_tokens` 8), timed end to end, with its first-token latency and
the prompt tokens llama.cpp reports as cached. `RLM_LOCAL_PROMPT_CACHE=0` turns reuse off.

    uv run python bench/speed_local.py [--turns 6] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine import prompts
from rlm_engine.config import ModelSpec
from rlm_engine.providers.local import LocalProvider, shutdown_local_servers
from rlm_engine.providers.registry import sub_call_chars

MAX_TOKENS = 8  # a short reply: the prompt, not the reply, is what reuse saves
REPLY = (
    "```repl\nhits = [m.start() for m in re.finditer('invoice', context)]\nprint(hits[:20])\n```"
)
OUTPUT = ("Invoice INV-{n:04d}: customer Acme Trading, amount USD {a:,}.00, due 2027-03-{d:02d}. "
          * 22)  # fmt: skip


def conversation(turns: int) -> list[list[dict[str, str]]]:
    """The messages of each turn: turn k holds k-1 scripted replies and their outputs."""
    meta = {"type": "list", "total_chars": 1_000_000, "n_documents": 40,
            "document_lengths": [25_000] * 40}  # fmt: skip
    messages = [
        {
            "role": "system",
            "content": prompts.system_prompt(small=True, sub_budget_chars=sub_call_chars("local")),
        },
        {"role": "user", "content": prompts.first_user_message("What is the total due?", meta)},
    ]
    result = []
    for turn in range(turns):
        result.append(list(messages))
        output = OUTPUT.format(n=turn, a=1000 + 37 * turn, d=turn + 1)
        messages += [
            {"role": "assistant", "content": REPLY},
            {"role": "user", "content": f"REPL output:\n{output}"},
        ]
    return result


def measure(model: str, turns: int, reuse: bool) -> list[dict[str, float]]:
    os.environ["RLM_LOCAL_PROMPT_CACHE"] = "1" if reuse else "0"
    provider = LocalProvider(ModelSpec("local", model), timeout_s=600)
    key = uuid.uuid4().hex
    rows = []
    for messages in conversation(turns):
        started = time.monotonic()
        done = provider.complete(
            messages, max_tokens=MAX_TOKENS, temperature=0.0, on_text=lambda _: None,
            conversation=key,
        )  # fmt: skip
        rows.append({
            "seconds": time.monotonic() - started,
            "first_token_s": done.first_token_s or 0.0,
            "prompt_tokens": done.usage.input_tokens,
            "cached_tokens": done.usage.cached_tokens,
            "tokens_per_s": done.tokens_per_s or 0.0,
        })  # fmt: skip
        print(json.dumps({"reuse": reuse, **rows[-1]}), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args()
    summary = {}
    for reuse in (False, True):  # off first: nothing cached can help it
        rows = measure(args.model, args.turns, reuse)
        shutdown_local_servers()  # a fresh server: no cache carried over
        later = rows[1:]  # the first turn has nothing to reuse in either mode
        summary["with reuse" if reuse else "without reuse"] = {
            "median_s_turns_2_on": round(statistics.median(r["seconds"] for r in later), 2),
            "median_first_token_s_turns_2_on": round(
                statistics.median(r["first_token_s"] for r in later), 2
            ),
            "first_turn_s": round(rows[0]["seconds"], 2),
            "last_prompt_tokens": rows[-1]["prompt_tokens"],
            "cached_of_last": rows[-1]["cached_tokens"],
            "median_tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in rows), 1),
        }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
