"""What prompt caching saves: a scripted 12-turn run over a 1M-character corpus, priced at
today's Anthropic and OpenAI prices (the genai-prices table bundled with this version).

The stand-in (rlm_testkit/standin.py) plays both APIs over real HTTP with their cache rules: OpenAI
caches any repeated prefix of 1,024+ tokens by itself; Anthropic reads and writes at the
`cache_control` breakpoints the provider sets. Tokens are counted as characters / 4. The run:
turn 1 peeks at a document; turns 2-11 each send one 8,000-character chunk to the sub model
(`llm_query`, a one-off prompt: never cached) and print 4,000 characters; turn 12 answers.
"Without caching" prices the very same calls with every input token at the plain input rate
(what the run costs when nothing is cached: Anthropic without breakpoints, OpenAI before).

    uv run python bench/bench_speed_cost.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event, RootResponse, RunFinished, SubCallFinished, Usage
from rlm_engine.pricing import cost_usd
from rlm_testkit.standin import StandIn

PAIRS = {
    "anthropic": ("claude-sonnet-4-5", "claude-haiku-4-5"),
    "openai": ("gpt-5", "gpt-5-mini"),
}
REASONING = "I will read the next document's totals section and ask the sub model to extract it.\n"


def corpus() -> list[str]:
    """40 documents of 25,000 characters: 1,000,000 characters."""
    line = "Section {i}.{j}: the supplier shall deliver the goods described in schedule {j}. "
    return ["".join(line.format(i=i, j=j) for j in range(400))[:25_000] for i in range(40)]


def script(standin: StandIn, root: str) -> None:
    replies = [REASONING + "```repl\nprint(len(context), context[0][:2000])\n```"]
    for i in range(1, 11):
        code = (f"part = llm_query('List every amount in this text: ' + context[{i}][:8000])\n"
                f"print(part)\nprint(context[{i}][8000:12000])")  # fmt: skip
        replies.append(REASONING * 3 + f"```repl\n{code}\n```")
    replies.append("FINAL(The totals are listed above.)")
    standin.enqueue(*replies, model=root)


def measure(provider: str) -> dict[str, object]:
    root, sub = PAIRS[provider]
    events: list[Event] = []
    with StandIn() as standin:
        standin.on(lambda request: "Amounts: USD 1,200.00; USD 860.50; USD 45.00. " * 4, model=sub)
        script(standin, root)
        credentials = Credentials(
            openai_api_key="bench", anthropic_api_key="bench",
            openai_base_url=standin.openai_base_url, anthropic_base_url=standin.anthropic_base_url,
        )  # fmt: skip
        config = RunConfig(
            root=ModelSpec(provider, root), sub=ModelSpec(provider, sub),
            budgets=Budgets(max_iterations=12), exec_timeout_s=60.0,
        )  # fmt: skip
        result = run("What are the totals?", corpus(), config, credentials=credentials,
                     on_event=events.append)  # fmt: skip
    assert result.status == "completed", result.error
    finished = next(e for e in events if isinstance(e, RunFinished) and e.depth == 0)
    roots = [e for e in events if isinstance(e, RootResponse)]
    subs = [e for e in events if isinstance(e, SubCallFinished)]
    spec = ModelSpec(provider, root)
    uncached_root = sum(
        cost_usd(spec, Usage(e.usage.input_tokens, e.usage.output_tokens)) or 0.0 for e in roots
    )
    sub_cost = sum(e.cost_usd or 0.0 for e in subs)
    with_cache = finished.cost_usd or 0.0
    without = uncached_root + sub_cost
    return {
        "root": root,
        "sub": sub,
        "turns": len(roots),
        "root_input_tokens": sum(e.usage.input_tokens for e in roots),
        "cached_tokens": finished.cached_tokens,
        "cache_write_tokens": finished.cache_write_tokens,
        "cost_without_caching_usd": round(without, 4),
        "cost_with_caching_usd": round(with_cache, 4),
        "root_cost_without_usd": round(uncached_root, 4),
        "root_cost_with_usd": round(with_cache - sub_cost, 4),
        "saved_percent": round(100 * (1 - with_cache / without), 1) if without else None,
    }


def main() -> None:
    print(json.dumps({provider: measure(provider) for provider in PAIRS}, indent=1))


if __name__ == "__main__":
    main()
