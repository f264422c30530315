"""A run in the web app, timed in Debian's Chromium (Playwright): a big trace, a streamed token,
the cold start.

    uv run python bench/bench_ui_trace.py [--sub-calls 1000] [--repeat 3]

- **Trace of N sub-calls to first paint**: a data directory holding one finished run whose code
  block made N sub-calls (`llm_query_batched`, 16 at a time, as the engine records them); a fresh
  server, History open, the run chosen in the picker: the time from the choice to its panels
  (the iteration's header) and to its timeline (the chart's marks) on screen.
- **First streamed token on screen**: the stand-in holds a streamed root reply before its first
  piece; the time from releasing it (the provider sends) to that piece shown in the live panel,
  read off the page's own clock (the same machine's clock). Also the server's CPU seconds per
  second while the run waits for that reply (its live view polling), and the time from a click
  on Stop while the reply streams to the run shown as stopped.
- **Cold start to the uploader**: bench_ui_start.py's, and how long Streamlit's skeleton
  placeholders showed before the uploader.

Each figure is the median of `--repeat` tries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ui_start import CHROMIUM, start_server, stop

QUESTION = "Which invoices are overdue?"


def fill_big_run(data_dir: Path, n: int) -> None:
    """One finished run: a root reply, one code block making n sub-calls 16 at a time, FINAL."""
    os.environ["RLM_DATA_DIR"] = str(data_dir)
    from rlm_engine.paths import default_db_url
    from rlm_testkit.runs import batched_run, record
    from storage import Database

    db = Database.open(default_db_url())
    recorder = db.recorder()
    record(recorder, batched_run(n, question=QUESTION))
    recorder.close()
    db.close()


def big_trace(browser: Any, data_dir: Path) -> dict[str, float]:
    process, url, _, _ = start_server(data_dir)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(f"{url}/history")
        picker = page.get_by_label("Open a run", exact=True)
        picker.wait_for()
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
        page.wait_for_timeout(3000)  # imports and the first page done: time the trace only
        picker.click()
        option = page.get_by_role("option").filter(has_text=QUESTION).first
        chosen = time.perf_counter()
        option.click()
        page.locator("summary").filter(has_text="Iteration 2").first.wait_for()
        panels = time.perf_counter()
        page.locator("[class*='-timeline'] .marks").first.wait_for()
        timeline = time.perf_counter()
        page.close()
    finally:
        stop(process)
    return {"trace: panels": panels - chosen, "trace: timeline": timeline - chosen}


def first_token(browser: Any) -> dict[str, float]:
    """The stand-in's streamed reply is held before its first piece; released at t0."""
    from rlm_testkit.pdf import make_pdf
    from rlm_testkit.standin import Reply, StandIn
    from rlm_testkit.standin_stream import PIECE_CHARS

    gate = threading.Event()
    # 40 pieces 0.2 s apart: still streaming when Stop is clicked
    reply = "Reading: " + "the report's revenue line first, then the answer. " * 6 + "FINAL(7431)"
    first_piece = reply[:PIECE_CHARS]  # "Reading:", sent as soon as the gate opens
    with StandIn() as standin, tempfile.TemporaryDirectory() as tmp:
        standin.enqueue(Reply(reply, stream_gate=gate, gate_at=0, chunk_delay_s=0.2))
        os.environ["OPENAI_BASE_URL"] = standin.openai_base_url
        os.environ["OPENAI_API_KEY"] = "bench-key"
        process, url, _, _ = start_server(Path(tmp) / "data")
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(url)
            pdf = make_pdf(["Quarterly report.", "Revenue grew to 7431 thousand euros."])
            page.locator('input[type="file"]').set_input_files(
                files=[{"name": "r.pdf", "mimeType": "application/pdf", "buffer": pdf}]
            )
            page.get_by_text("Tokens (estimate)", exact=True).first.wait_for()
            box = page.get_by_placeholder("Ask a question about these documents")
            box.fill("What was the revenue?")
            box.press("Enter")
            page.get_by_text("Waiting for the root model").wait_for()
            while not standin.requests:  # on a loaded machine the request may come late
                page.wait_for_timeout(50)
            page.wait_for_timeout(1000)  # the request is at the stand-in, held at the gate
            cpu_before, clock_before = _cpu_s(process.pid), time.perf_counter()
            page.wait_for_timeout(3000)
            cpu_per_s = (_cpu_s(process.pid) - cpu_before) / (time.perf_counter() - clock_before)
            sent = time.time()
            gate.set()
            shown = page.wait_for_function(
                "piece => { const e = document.querySelector(\"[class*='-streaming']\");"
                " return e && e.innerText.includes(piece) ? Date.now() : null; }",
                arg=first_piece,
                polling="raf",
            ).json_value()
            clicked = time.perf_counter()
            page.get_by_role("button", name="Stop").click()
            page.get_by_text("stopped").first.wait_for()  # the status badge
            stopped = time.perf_counter()
            page.close()
        finally:
            gate.set()
            stop(process)
    return {
        "first streamed token on screen": shown / 1000 - sent,
        "server CPU s per s, run waiting": cpu_per_s,
        "Stop to stopped on screen": stopped - clicked,
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user and system) of a process so far, its ended threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_start_with_skeleton(browser: Any) -> dict[str, float]:
    """bench_ui_start's cold start, noting how long Streamlit's skeleton showed."""
    with tempfile.TemporaryDirectory() as tmp:
        process, url, started, healthy = start_server(Path(tmp) / "data")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(60_000)
            opened = time.perf_counter()
            page.goto(url)
            seen = page.evaluate(_WATCH_SKELETON)
            page.locator("[data-testid='stFileUploaderDropzone']").wait_for()
            uploader = time.perf_counter()
            skeleton_s = page.evaluate("() => window.__skeleton_ms / 1000")
            page.close()
        finally:
            stop(process)
    return {
        "cold start to uploader": (healthy - started) + (uploader - opened),
        "skeleton on screen": skeleton_s if seen is not None else 0.0,
    }


_WATCH_SKELETON = """() => {
  window.__skeleton_ms = 0; let since = null;
  const skeleton = "[data-testid='stSkeleton'], [data-testid='stAppSkeleton']";
  const uploader = "[data-testid='stFileUploaderDropzone']";
  const tick = () => {
    const on = !!document.querySelector(skeleton);
    const now = performance.now();
    if (on && since === null) since = now;
    if (!on && since !== null) { window.__skeleton_ms += now - since; since = null; }
    if (!document.querySelector(uploader)) requestAnimationFrame(tick);
    else if (since !== null) window.__skeleton_ms += now - since;
  };
  tick(); return 0;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub-calls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="trace,token,cold", help="which figures")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        data_dir = Path(tmp) / "big"
        if "trace" in args.only:
            fill_big_run(data_dir, args.sub_calls)
        for _ in range(args.repeat):
            figures: dict[str, float] = {}
            if "cold" in args.only:
                figures |= cold_start_with_skeleton(browser)
            if "trace" in args.only:
                figures |= big_trace(browser, data_dir)
            if "token" in args.only:
                figures |= first_token(browser)
            for name, value in figures.items():
                results.setdefault(name, []).append(value)
                print(f"{name}: {value:.2f} s", flush=True)
        browser.close()
    for name, values in results.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:32s} median {statistics.median(values):6.2f} s  ({spread})")


if __name__ == "__main__":
    main()
