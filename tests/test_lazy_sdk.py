"""The OpenAI SDK imported without the type modules a chat completion does not use
(rlm_engine.providers.lazy_sdk): what it leaves out, that every name still resolves, and that a
package it cannot read as re-exports only imports as usual."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from rlm_engine.providers.lazy_sdk import reexports


def run_python(code: str, *, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_import_sdk_leaves_out_the_types_a_chat_completion_does_not_use() -> None:
    out = run_python(
        """
        import json, sys
        from rlm_engine.providers.lazy_sdk import import_sdk
        openai = import_sdk("openai")
        client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")
        client.chat.completions  # the resource a run uses
        loaded = sorted(m for m in sys.modules if m.startswith("openai"))
        print(json.dumps(loaded))
        """
    )
    loaded = json.loads(out)
    assert "openai.types.chat" in loaded
    assert "openai.types.eval_create_params" not in loaded  # imported by a plain `import openai`
    assert len(loaded) < 250  # of ~520


def test_every_name_of_a_lazy_types_package_still_resolves() -> None:
    out = run_python(
        """
        import json
        from rlm_engine.providers.lazy_sdk import import_sdk
        openai = import_sdk("openai")
        from openai.types import ChatModel, completion_create_params  # a name, a submodule
        from openai.types.chat import ChatCompletion
        from openai.types.chat.chat_completion import ChatCompletion as Direct
        import openai.types as types
        namespace = {}
        exec("from openai.types.responses import *", namespace)
        print(json.dumps({
            "same": ChatCompletion is Direct,
            "batch": types.Batch.__module__,
            "submodule": completion_create_params.__name__,
            "star": "Response" in namespace,
            "missing": hasattr(types, "NoSuchType"),
            "file": types.__file__.endswith("__init__.py"),
        }))
        """
    )
    assert json.loads(out) == {
        "same": True,
        "batch": "openai.types.batch",
        "submodule": "openai.types.completion_create_params",
        "star": True,
        "missing": False,
        "file": True,
    }


def test_reexports_reads_only_an_init_of_relative_imports() -> None:
    plain = '"""Types."""\nfrom __future__ import annotations\nfrom .a import A as A, B\n'
    assert reexports(plain) == {"A": ("a", "A"), "B": ("a", "B")}
    assert reexports(plain + "from .c import (C as D)\n") == {
        "A": ("a", "A"),
        "B": ("a", "B"),
        "D": ("c", "C"),
    }
    assert reexports(plain + "X = 1\n") is None  # code of its own: imported as usual
    assert reexports(plain + "from .c import *\n") is None
    assert reexports(plain + "import os\n") is None
    assert reexports(plain + "from os import path\n") is None
    assert reexports("from . import sub\n") is None
    assert reexports("from .a import (\n") is None  # not Python


def test_a_package_that_does_more_than_reexport_imports_as_usual(tmp_path: Path) -> None:
    """Under a lazy prefix, an __init__ with code of its own runs it at import, as Python does;
    one that only re-exports runs nothing until a name is read."""
    types = tmp_path / "fakesdk" / "types"
    (types / "plain").mkdir(parents=True)
    (types / "busy").mkdir()
    (tmp_path / "fakesdk" / "__init__.py").write_text("")
    (types / "__init__.py").write_text("from .plain import Thing as Thing\n")
    (types / "plain" / "__init__.py").write_text("from .thing import Thing as Thing\n")
    ran = "import builtins\nbuiltins.RAN.append({!r})\n"
    (types / "plain" / "thing.py").write_text(ran.format("thing") + "Thing = 1\n")
    (types / "busy" / "__init__.py").write_text(ran.format("busy"))
    out = run_python(
        """
        import builtins, json
        builtins.RAN = []
        from rlm_engine.providers.lazy_sdk import install
        install("fakesdk.types")
        import fakesdk.types.plain, fakesdk.types.busy
        before = list(builtins.RAN)
        thing = fakesdk.types.Thing
        print(json.dumps({"before": before, "after": builtins.RAN, "thing": thing}))
        """,
        cwd=tmp_path,
    )
    assert json.loads(out) == {"before": ["busy"], "after": ["busy", "thing"], "thing": 1}
