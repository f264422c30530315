"""Needle in a haystack with the offline model: the RLM against the same model reading directly.

A haystack of generated prose holds one access code per team ("needles"), spread evenly through
it; each question asks for one team's code, so the other needles are distractors. Two methods per
question, both on the local model (default Qwen2.5-Coder-1.5B, temperature 0):

- rlm:    `rlm_engine.run` with the corpus as `context` (small-model prompt, chosen automatically);
- direct: one call with the corpus in the prompt, cut to what fits the model's window.

A question is right when the answer contains the code. Prints a Markdown table (accuracy, mean
and median seconds per question, tokens) and writes every answer (and each RLM trajectory) to a
JSON file (`--out`, default in the temp directory).

    uv run python bench/needle_local.py --quick
    uv run python bench/needle_local.py --sizes 8000,64000,1000000 --questions 5

The direct method sends the same document prefix for every question of a size, so llama.cpp's
prompt cache makes its first question slow and the others fast; its per-question mean includes both.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.errors import ProviderError
from rlm_engine.events import Event
from rlm_engine.providers import make_provider

COLORS = ["amber", "cobalt", "crimson", "olive", "ivory", "scarlet", "teal", "violet", "silver"]
ANIMALS = ["otter", "falcon", "badger", "heron", "lynx", "marten", "osprey", "walrus", "gecko"]
WORDS = ["maple", "quartz", "harbor", "lantern", "meadow", "cinder", "orchid", "pebble", "summit"]
SUBJECTS = [
    "The committee",
    "A visiting engineer",
    "The harbour office",
    "Our supplier",
    "The board",
]
VERBS = ["reviewed", "postponed", "approved", "questioned", "summarised", "archived", "revised"]
OBJECTS = ["the quarterly budget", "the safety report", "a shipping schedule", "the old contract"]
TAILS = ["after a long meeting.", "without comment.", "for the third time.", "before lunch."]


def haystack(size: int, rng: random.Random) -> str:
    """Plausible, repetitive business prose of about `size` characters."""
    parts: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(
            (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TAILS))
        )
        if rng.random() < 0.15:
            sentence += "\n\n"
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)[:size]


def build_corpus(size: int, questions: int, seed: int) -> tuple[str, list[tuple[str, str]]]:
    """A corpus of `size` characters and (team, code) pairs, needles spread evenly through it."""
    rng = random.Random(seed * 1_000_003 + size)
    teams = rng.sample([f"{c} {a}" for c in COLORS for a in ANIMALS], questions)
    codes = [f"{rng.choice(WORDS)}-{rng.randint(100, 999)}" for _ in teams]
    text = haystack(size, rng)
    pieces, start = [], 0
    for index, (team, code) in enumerate(zip(teams, codes, strict=True)):
        cut = max(text.rfind(". ", 0, int(size * (index + 0.5) / questions)) + 2, start)
        pieces += [text[start:cut], f"Note for the {team} team: your access code is {code}. "]
        start = cut
    pieces.append(text[start:])
    return "".join(pieces), list(zip(teams, codes, strict=True))


def question_for(team: str) -> str:
    return f"What is the access code of the {team} team? Reply with the code only."


def ask_rlm(spec: ModelSpec, corpus: str, question: str, max_time_s: float) -> dict[str, Any]:
    config = RunConfig(
        root=spec,
        budgets=Budgets(max_iterations=6, max_sub_calls=20, max_time_s=max_time_s),
        exec_timeout_s=60.0,
        request_timeout_s=max_time_s,
    )
    trace: list[str] = []

    def keep(event: Event) -> None:
        data = event.to_dict()
        text = data.get("text") or data.get("output") or data.get("message") or ""
        if text:
            trace.append(f"{data['type']}: {text[:400]}")

    result = run(question, corpus, config, credentials=Credentials(), on_event=keep)
    return {
        "trace": trace,
        "answer": result.answer or result.error or "",
        "status": result.status,
        "iterations": result.iterations,
        "sub_calls": result.sub_calls,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }


def ask_direct(spec: ModelSpec, corpus: str, question: str, window_chars: int) -> dict[str, Any]:
    """The corpus first (so that its prefix is cached across questions), cut to fit the window."""
    provider = make_provider(spec, Credentials())
    chars = min(len(corpus), window_chars)
    while True:
        prompt = f"Document:\n{corpus[:chars]}\n\n{question}"
        try:
            reply = provider.complete([{"role": "user", "content": prompt}], max_tokens=32)
            break
        except ProviderError as exc:
            if "does not fit" not in str(exc) or chars < 1000:
                raise
            chars = int(chars * 0.85)
    return {
        "answer": reply.text,
        "status": "completed",
        "chars_given": chars,
        "input_tokens": reply.usage.input_tokens,
        "output_tokens": reply.usage.output_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="catalogue name or .gguf")
    parser.add_argument("--sizes", default="8000,64000,1000000", help="corpus sizes, characters")
    parser.add_argument("--questions", type=int, default=10, help="questions per size")
    parser.add_argument("--methods", default="rlm,direct")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--window-chars", type=int, default=96_000, help="direct: first cut")
    parser.add_argument("--max-time", type=float, default=600.0, help="RLM: seconds per question")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "needle_local.json"
    )
    parser.add_argument("--quick", action="store_true", help="8k characters, 2 questions")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.questions = "8000", 2
    spec = ModelSpec("local", args.model)
    records: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        corpus, needles = build_corpus(size, args.questions, args.seed)
        for method in args.methods.split(","):
            for team, code in needles:
                question = question_for(team)
                started = time.perf_counter()
                if method == "rlm":
                    outcome = ask_rlm(spec, corpus, question, args.max_time)
                else:
                    outcome = ask_direct(spec, corpus, question, args.window_chars)
                record = {
                    "size": size,
                    "method": method,
                    "team": team,
                    "code": code,
                    "correct": code.lower() in outcome["answer"].lower(),
                    "seconds": round(time.perf_counter() - started, 2),
                    **outcome,
                }
                records.append(record)
                print(json.dumps({k: v for k, v in record.items() if k != "trace"}), flush=True)
                args.out.write_text(json.dumps(records, indent=1))
    print(table(records))
    print(f"Every answer, with the RLM's trajectory: {args.out}")


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| corpus chars | method | right | mean s/question | median s | mean tokens in/out |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["size"], record["method"]), []).append(record)
    for (size, method), group in groups.items():
        seconds = [r["seconds"] for r in group]
        tokens_in = statistics.mean(r["input_tokens"] for r in group)
        tokens_out = statistics.mean(r["output_tokens"] for r in group)
        lines.append(
            f"| {size:,} | {method} | {sum(r['correct'] for r in group)}/{len(group)} "
            f"| {statistics.mean(seconds):.1f} | {statistics.median(seconds):.1f} "
            f"| {tokens_in:,.0f} / {tokens_out:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
