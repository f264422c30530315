"""The first page of a cold start imports only what it draws: storage (SQLAlchemy) and the run's
drawing (the sources, pandas) are imported by the background warm-up after the page, not before
it. (numpy is Streamlit's own import for the page icon.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys, threading
seen = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("storage", "sqlalchemy", "pandas", "rlm_engine.sources") and name not in seen:
            seen[name] = threading.current_thread().name
        return None

sys.meta_path.insert(0, Watch())
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
assert [t.value for t in at.title] == ["Ask"], at.title
print(json.dumps(seen))
"""


def test_the_first_page_leaves_storage_and_the_run_view_to_the_warm_up(isolated_env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    by_page = {name: thread for name, thread in seen.items() if thread != "rlm-warmup"}
    assert by_page == {}
