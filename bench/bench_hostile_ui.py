"""Hostile input at the command line: bad numbers, a directory as the database, hostile run
exports, escape sequences in stored model text. What each costs and how it ends.

    uv run python bench/bench_hostile_ui.py [--before DIR]

Every case is a fresh process (`python -m rlm_cli ...`, or a few lines calling
`Database.import_run` for the library-level import cases): its wall time, its own peak RSS
(`ru_maxrss` from wait4), its exit code, whether stderr holds a traceback and the first line it
printed. `--before DIR` puts an older checkout first on PYTHONPATH (the "before" column).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HOSTILE = (
    "ok\x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 nul\x00 "
    "\x1b[1A\x1b[2KFAKE: all tests passed"
)
RAW_CONTROLS = [chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f"]

RECORD = """
import sys, time
from storage import Database
text = sys.stdin.read()  # argv cannot hold NUL
now = time.time()
base = {"run_id": "hostile", "depth": 0, "parent_call_id": None}
events = [
    {**base, "type": "run_started", "time": now, "question": "Q " + text,
     "config": {"root": {"provider": "openai", "model": "m"}}, "context_meta": {}},
    {**base, "type": "root_response", "time": now, "iteration": 1, "text": text,
     "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1}, "cost_usd": 0.0,
     "elapsed_s": 0.1, "forced": False},
    {**base, "type": "code_executed", "time": now, "iteration": 1, "block_index": 0,
     "code": "print(x)", "output": text, "output_chars": 9, "elapsed_s": 0.1,
     "error": None, "restarted": False},
    {**base, "type": "final_answer", "time": now, "answer": text, "source": "code"},
    {**base, "type": "run_finished", "time": now, "status": "completed", "answer": text,
     "error": None, "iterations": 1, "sub_calls": 0, "input_tokens": 1, "output_tokens": 1,
     "cost_usd": 0.0, "elapsed_s": 0.2},
]
with Database.open(sys.argv[1]) as db:
    record = db.recorder()
    for event in events:
        record(event)
"""

IMPORT = """
import json, sys
from storage import Database
sys.setrecursionlimit(20_000)  # the reader may parse deep JSON; import_run gets the default
data = json.load(open(sys.argv[2]))
sys.setrecursionlimit(1_000)
with Database.open(sys.argv[1]) as db:
    try:
        run_id = db.import_run(data)
    except Exception as exc:
        print(f"refused: {type(exc).__name__}: {str(exc)[:100]}", file=sys.stderr)
        sys.exit(2)
    print(f"accepted as {run_id!r}", file=sys.stderr)
"""


def measured(command: list[str], env: dict[str, str]) -> dict[str, object]:
    """`measure`, with the peak RSS of that one child (RUSAGE_CHILDREN grows monotonically,
    so each case runs in a process of its own that reports its child's)."""
    script = (
        "import json,os,resource,subprocess,sys,time\n"
        "start=time.perf_counter()\n"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True)\n"
        "rss=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024\n"
        "print(json.dumps({'exit':p.returncode,'out':p.stdout,'err':p.stderr,"
        "'seconds':time.perf_counter()-start,'rss_mb':rss}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *command],
        env=env,
        cwd=env.get("PYTHONPATH"),  # `-m` and `-c` put the working directory first on sys.path
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    lines = [line for line in result["err"].splitlines() if line.strip()]
    return {
        "exit": result["exit"],
        "seconds": round(result["seconds"], 2),
        "peak_rss_mb": round(result["rss_mb"]),
        "traceback_lines": len(lines) if "Traceback" in result["err"] else 0,
        "said": (lines[-1] if lines else "")[:140],
        "raw_controls_out": sum(result["out"].count(c) for c in RAW_CONTROLS),
    }


def nested(levels: int) -> str:
    """JSON nested `levels` deep, written as text (no encoder recursion)."""
    return '{"x": ' * levels + '"bottom"' + "}" * levels


def exports(work: Path, env: dict[str, str]) -> dict[str, Path]:
    """A real export of a recorded run, and hostile variants of it."""
    url = f"sqlite:///{work / 'source.db'}"
    record = [sys.executable, "-c", RECORD, url]
    cwd = env.get("PYTHONPATH")
    subprocess.run(record, input="plain", text=True, env=env, cwd=cwd, check=True)
    exported = subprocess.run(
        [sys.executable, "-m", "rlm_cli", "runs", "export", "hostile", "--db", url],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    variants = {
        "bogus event type": lambda d: d["events"].append({"type": "drop_tables", "run_id": "x"}),
        "dict as the question": lambda d: d["run"].update(question={"a": 1}),
        "run id ../../etc/passwd": lambda d: d["run"].update(id="../../etc/passwd"),
        "tokens 10**30": lambda d: d["run"].update(input_tokens=10**30),
        "config nested 5,000 deep": lambda d: d["events"][0].update(config="@5000@"),
        "config nested 100,000 deep": lambda d: d["events"][0].update(config="@100000@"),
    }
    paths = {}
    for name, damage in variants.items():
        data = json.loads(exported)
        damage(data)
        path = work / f"{len(paths)}.json"
        text = json.dumps(data)
        for levels in (5_000, 100_000):
            text = text.replace(f'"@{levels}@"', nested(levels))
        path.write_text(text)
        paths[name] = path
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="DIR", help="an older checkout to measure instead")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.before:
        env["PYTHONPATH"] = args.before
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'runs.db'}"
        folder = work / "a-directory"
        folder.mkdir()
        cli = [sys.executable, "-m", "rlm_cli"]
        cases: dict[str, list[str]] = {
            "runs list --limit 99999999999999999999": [
                *cli, "runs", "list", "--db", url, "--limit", "99999999999999999999"
            ],
            "runs list --limit 0": [*cli, "runs", "list", "--db", url, "--limit", "0"],
            "runs list --offset -5": [*cli, "runs", "list", "--db", url, "--offset", "-5"],
            "runs list --db <a directory>": [*cli, "runs", "list", "--db", f"sqlite:///{folder}"],
        }  # fmt: skip
        for name, path in exports(work, env).items():
            target = f"sqlite:///{work / (path.stem + '-target.db')}"
            if "100,000" in name:  # deeper than any JSON reader's stack: the CLI's case
                cases[f"rlm runs import: {name}"] = [
                    *cli,
                    "runs",
                    "import",
                    str(path),
                    "--db",
                    target,
                ]
            else:
                cases[f"import_run: {name}"] = [sys.executable, "-c", IMPORT, target, str(path)]
        hostile_db = f"sqlite:///{work / 'hostile.db'}"
        record = [sys.executable, "-c", RECORD, hostile_db]
        cwd = env.get("PYTHONPATH")
        subprocess.run(record, input=HOSTILE, text=True, env=env, cwd=cwd, check=True)
        cases["runs show (OSC 52, OSC 8, NUL, cursor-up + erase-line)"] = [
            *cli, "runs", "show", "hostile", "--db", hostile_db
        ]  # fmt: skip
        cases["runs list (same run)"] = [*cli, "runs", "list", "--db", hostile_db]
        for name, command in cases.items():
            print(json.dumps({"case": name, **measured(command, env)}), flush=True)


if __name__ == "__main__":
    main()
