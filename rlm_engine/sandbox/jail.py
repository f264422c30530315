"""Starts the worker behind the walls the OS allows. Standalone, stdlib-only.

Run by the host as `python -I -S jail.py CONFIG_JSON`, usually under
`unshare --net --pid --mount --ipc --uts --fork --kill-child --mount-proc`, which makes this
process PID 1 of fresh namespaces with its own /proc. Then, in order:

1. expose: paths the worker must read (the interpreter, worker.py, the workdir) that sit below a
   directory others cannot enter (e.g. /root, mode 700) are re-mounted under a tmpfs laid over that
   directory: the rest of it stays hidden.
2. fork the worker, which sets its rlimits, drops to the sandbox uid/gid (when root),
   forbids new privileges and execs `python -I -S worker.py FD`.
3. stay as PID 1: reap orphans (so a fork bomb's zombies do not pin RLIMIT_NPROC) and exit with
   the worker's status. When this process dies, the kernel kills everything in the namespace.

Without namespaces (`"init": false`) step 1 and 3 are skipped and this process becomes the worker.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import stat
import sys

MS_NOSUID, MS_NODEV, MS_BIND, MS_REC = 2, 4, 4096, 16384
PR_SET_NO_NEW_PRIVS = 38


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    libc = _libc()
    args = [None if a is None else a.encode() for a in (source, target, fstype, data)]
    if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _closed_ancestor(path: str) -> str | None:
    """The first directory above `path` that others may not enter, if any."""
    current = "/"
    for part in os.path.normpath(path).strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return current
    return None


def expose(paths: list[str]) -> None:
    """Make `paths` reachable for the dropped uid without opening their closed ancestors."""
    paths = [os.path.normpath(p) for p in paths]
    inside = [p for p in paths if any(p.startswith(q + "/") for q in paths)]
    todo = []
    for path in (p for p in dict.fromkeys(paths) if p not in inside):
        ancestor = _closed_ancestor(path)
        if ancestor is not None:
            todo.append((path, os.open(path, os.O_PATH), ancestor))
    covered: set[str] = set()
    for path, fd, ancestor in todo:
        if ancestor not in covered:
            _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
            covered.add(ancestor)
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        os.makedirs(path if is_dir else os.path.dirname(path), exist_ok=True)
        if not is_dir:
            open(path, "a").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        os.close(fd)


def become_worker(cfg: dict) -> None:
    """Limits, identity, exec. Never returns."""
    for name, value in cfg["rlimits"].items():
        limit = getattr(resource, name)
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError) as exc:
            print(f"jail: cannot set {name}: {exc}", file=sys.stderr)
    if cfg.get("uid") is not None:
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.umask(0o077)
    os.chdir(cfg["workdir"])
    fd = cfg["fd"]
    os.set_inheritable(fd, True)
    python = cfg["python"]
    os.execve(python, [python, "-I", "-S", cfg["worker"], str(fd)], dict(os.environ))


def serve_as_init(cfg: dict) -> None:
    """PID 1: start the worker, reap every orphan, leave with the worker's exit status."""
    child = os.fork()
    if child == 0:
        become_worker(cfg)
    os.close(cfg["fd"])
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)  # killed by signal N: 128 + N, as a shell


def main() -> None:
    cfg = json.loads(sys.argv[1])
    if cfg.get("init"):
        expose(cfg.get("expose", []))
        serve_as_init(cfg)
    else:
        become_worker(cfg)


if __name__ == "__main__":
    main()
