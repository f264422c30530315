"""The web app's cold start and History's first paint, in Debian's Chromium (Playwright).

    uv run python bench/bench_ui_start.py [--runs 10000] [--repeat 3]

Cold start: `streamlit run app.py` started in a fresh process with an empty data directory;
times from the process start to /_stcore/health answering, to the "Ask" heading in a fresh
browser page, and to the file uploader (the first page usable). History: a data directory holding
`--runs` finished runs (4 events each, through storage's recorder), a fresh page opened on
/history, time from navigation to the runs list being drawn and to the run picker: straight after
the first page, and after 10 s on it (the background warm-up has imported storage and pandas);
and from a click on History in the sidebar of a page open for 10 s on Ask (what a user does).
Each figure is the median of `--repeat` fresh servers.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# History's list drawn, its first row (until 2026-12-02 15:30 UTC the canvas table)
LIST = ".st-key-history-rows [data-testid='stRadioOption']"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, float, float]:
    """The server, its URL, when it was started and when it answered /health (perf_counter)."""
    port = free_port()
    env = {**os.environ, "RLM_DATA_DIR": str(data_dir)}
    env.pop("RLM_DB_URL", None)
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url, started, time.perf_counter()
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("streamlit exited") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def fill_runs(data_dir: Path, n: int) -> None:
    """n small finished runs, recorded as the engine emits them."""
    os.environ["RLM_DATA_DIR"] = str(data_dir)
    from rlm_engine.events import FinalAnswer, RootResponse, RunFinished, RunStarted, Usage
    from rlm_engine.paths import default_db_url
    from storage import Database

    db = Database.open(default_db_url())
    start = time.time() - n
    for i in range(n):
        run_id = uuid.uuid4().hex
        record = db.recorder()
        now = start + i
        usage = Usage(input_tokens=100, output_tokens=20)
        config = {"root": {"provider": "openai", "model": f"model-{i % 7}"}}
        for event in (
            RunStarted(run_id=run_id, time=now, question=f"Question number {i} about the "
                       "quarterly report and what it says of revenue", config=config,
                       context_meta={}),
            RootResponse(run_id=run_id, time=now, iteration=1, text="FINAL(42)",
                         model=f"model-{i % 7}", usage=usage, cost_usd=0.001, elapsed_s=1.0),
            FinalAnswer(run_id=run_id, time=now, answer="42", source="text"),
            RunFinished(run_id=run_id, time=now, status="completed", answer="42", error=None,
                        iterations=1, sub_calls=0, input_tokens=100, output_tokens=20,
                        cost_usd=0.001, elapsed_s=1.0),
        ):  # fmt: skip
            record(event)
        record.close()
    db.close()


def cold_start(browser: object) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        process, url, started, healthy = start_server(Path(tmp) / "data")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
            page.set_default_timeout(60_000)
            opened = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="Ask").wait_for()
            heading = time.perf_counter()
            page.locator("[data-testid='stFileUploaderDropzone']").wait_for()
            uploader = time.perf_counter()
            page.close()
        finally:
            stop(process)
    return {
        "start to health": healthy - started,
        "page open to Ask heading": heading - opened,
        "page open to uploader": uploader - opened,
        "start to uploader": (healthy - started) + (uploader - opened),
    }


def history(browser: object, data_dir: Path, dwell_s: float) -> dict[str, float]:
    process, url, _, _ = start_server(data_dir)
    try:
        warm = browser.new_page()  # type: ignore[attr-defined]
        warm.goto(url)  # the server's first script run (imports) is the cold start's, not this
        warm.get_by_role("heading", name="Ask").wait_for(timeout=60_000)
        warm.wait_for_timeout(dwell_s * 1000)  # a user reading the first page (warm-up runs)
        warm.close()
        page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        page.set_default_timeout(60_000)
        opened = time.perf_counter()
        page.goto(f"{url}/history")
        page.locator(LIST).first.wait_for()
        table = time.perf_counter()
        page.get_by_placeholder("Choose a run to review its trace").wait_for()
        picker = time.perf_counter()
        page.close()
    finally:
        stop(process)
    return {
        f"History after {dwell_s:g} s on Ask: table": table - opened,
        f"History after {dwell_s:g} s on Ask: picker": picker - opened,
    }


def history_in_app(browser: object, data_dir: Path, dwell_s: float = 10.0) -> dict[str, float]:
    """What a user does: the app open on Ask, then History chosen in the sidebar (the page's
    scripts are loaded and its connection open; only History's own elements are new)."""
    process, url, _, _ = start_server(data_dir)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("heading", name="Ask").wait_for()
        page.wait_for_timeout(dwell_s * 1000)
        clicked = time.perf_counter()
        page.get_by_role("link", name="History").first.click()
        page.locator(LIST).first.wait_for()
        table = time.perf_counter()
        page.close()
    finally:
        stop(process)
    return {f"History from the sidebar after {dwell_s:g} s: table": table - clicked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--history-data", type=Path, help="a data dir to fill once and reuse")
    parser.add_argument("--history-only", action="store_true", help="skip the cold starts")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        results: dict[str, list[float]] = {}
        for _ in range(0 if args.history_only else args.repeat):
            for name, value in cold_start(browser).items():
                results.setdefault(name, []).append(value)
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = args.history_data or Path(tmp) / "data"
            if not (data_dir / "rlm.db").exists():
                filled = time.perf_counter()
                fill_runs(data_dir, args.runs)
                print(f"(filled {args.runs:,} runs in {time.perf_counter() - filled:.0f} s)")
            for _ in range(args.repeat):
                for dwell_s in (0.0, 10.0):
                    for name, value in history(browser, data_dir, dwell_s).items():
                        results.setdefault(name, []).append(value)
                for name, value in history_in_app(browser, data_dir).items():
                    results.setdefault(name, []).append(value)
        browser.close()
    for name, values in results.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:32s} median {statistics.median(values):6.2f} s  ({spread})")


if __name__ == "__main__":
    main()
