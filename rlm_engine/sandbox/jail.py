"""Starts the worker behind the walls the OS allows. Standalone, stdlib-only.

Run by the host as `python -I -S jail.py FD` (FD: a pipe carrying the JSON configuration, kept out
of argv, which model code can read in /proc/1/cmdline), usually under
`unshare [--user --map-root-user] --net --pid --mount --ipc --uts --fork --kill-child --mount-proc`,
which makes this process PID 1 of fresh namespaces with its own /proc. Then, in order:

1. walls: an empty tmpfs is laid over the host user's home, /tmp, /var/tmp, /dev/shm and
   /run/user/UID, and over any directory the worker's uid cannot enter (e.g. /root, mode 700).
   The paths the worker needs (the interpreter, worker.py) are bound back in, and the workdir
   gets a size-capped tmpfs of its own (disk use is bounded; the host's directory stays empty);
   the whole tree is then remounted read-only, except the workdir.
2. fork the worker, which sets its rlimits, drops to the sandbox uid/gid (when root) or gives up
   every capability (root of a user namespace: it must not undo the walls), forbids new
   privileges and execs `python -I -S worker.py FD`.
3. stay PID 1 as a small reaper (`REAPER`, exec'ed in place): reap orphans (so a fork bomb's
   zombies do not pin RLIMIT_NPROC) and exit with the worker's status. When this process dies,
   the kernel kills everything in the namespace.

Without namespaces (`"init": false`) step 1 and 3 are skipped and this process becomes the worker,
marked a child subreaper first: orphans of model code are re-parented to the worker instead of the
host's init, so the host still finds (and kills) them after each block.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import stat
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 21
# statvfs flag -> mount flag: a remount must keep the flags the kernel locked on the mount
KEPT_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECURE_NOROOT_ALL = 0x2F  # NOROOT, NO_SETUID_FIXUP and KEEP_CAPS_LOCKED, each locked


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


def _cover(path: str, hide: list[str]) -> str | None:
    """The directory to lay a tmpfs over so that `path` is hidden or reachable, if any."""
    return next((h for h in hide if path.startswith(h + "/")), None) or _closed_ancestor(path)


def build_walls(
    paths: list[str], hide: list[str], writable: str, readonly: bool, tmpfs: str | None = None
) -> None:
    """Hide `hide` and closed directories, keep `paths` reachable, make all else read-only.
    With `tmpfs` (mount options), `writable` is a fresh tmpfs instead of the host's directory."""
    hide = [os.path.normpath(h) for h in hide if h and os.path.isdir(h)]
    hide = [h for h in dict.fromkeys(hide) if h != "/" and not _cover(h, hide)]
    paths = [os.path.normpath(p) for p in dict.fromkeys(paths)]
    writable = os.path.normpath(writable)
    inside = [p for p in paths if any(p.startswith(q + "/") for q in paths)]
    todo = []
    for path in (p for p in paths if p not in inside):
        cover = _cover(path, hide)
        if cover is not None or (readonly and path == writable):
            todo.append((path, os.open(path, os.O_PATH), cover))
    covered: set[str] = set()
    for cover in [*hide, *(c for _, _, c in todo if c is not None)]:
        if cover not in covered:
            _mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
            covered.add(cover)
    for path, fd, _ in todo:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        os.makedirs(path if is_dir else os.path.dirname(path), exist_ok=True)
        if not is_dir and not os.path.exists(path):
            open(path, "a").close()
        if path == writable and tmpfs is not None:
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs)
        else:
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        os.close(fd)
    if readonly:
        make_readonly(keep=writable)


def make_readonly(keep: str) -> None:
    """Remount every mount read-only but `keep`: model code may write its workdir only."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in dict.fromkeys(re.sub(r"\\([0-7]{3})", _octal, p) for p in points):
        if point == keep or point.startswith(keep + "/") or not os.path.exists(point):
            continue
        flags = os.statvfs(point).f_flag
        kept = sum(ms for st, ms in KEPT_FLAGS.items() if flags & st)
        try:
            _mount("none", point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept, None)
        except OSError as exc:
            if point == "/":
                raise
            print(f"jail: {point} stays writable: {exc}", file=sys.stderr)


def _octal(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 8))  # mountinfo writes space, tab, newline, \\ as \\ooo


def drop_capabilities() -> None:
    """Root of a user namespace holds every capability there: give them up for good."""
    libc = _libc()
    if libc.prctl(PR_SET_SECUREBITS, SECURE_NOROOT_ALL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECUREBITS)")
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


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
    elif cfg.get("drop_caps"):
        drop_capabilities()
    if cfg.get("subreaper"):  # kept across execve
        _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.umask(0o077)
    os.chdir(cfg["workdir"])
    fd = cfg["fd"]
    os.set_inheritable(fd, True)
    python = cfg["python"]
    os.execve(python, [python, "-I", "-S", cfg["worker"], str(fd)], dict(os.environ))


REAPER = """\
def reap(worker):
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == worker:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)  # killed by signal N: 128 + N, as a shell
"""
"""PID 1's work once the walls stand: reap every orphan (so that a fork bomb's zombies do not
pin RLIMIT_NPROC) and leave with the worker's exit status. Run in a fresh `python -I -S -c`:
this process, with ctypes, json and re loaded and the walls' work done, held ~2 MiB more for
the whole life of every sandbox (bench/README.md)."""


def serve_as_init(cfg: dict) -> None:
    """PID 1: start the worker, then become the reaper (exec keeps the process: the worker stays
    its child, the namespaces their PID 1). Never returns."""
    child = os.fork()
    if child == 0:
        become_worker(cfg)
    os.close(cfg["fd"])
    python = cfg["python"]
    command = f"import os, sys\n{REAPER}\nreap(int(sys.argv[1]))\n"
    try:
        os.execv(python, [python, "-I", "-S", "-c", command, str(child)])
    except OSError as exc:  # reap in this process instead
        print(f"jail: the reaper runs in the jail ({exc})", file=sys.stderr)
        names: dict = {"os": os}
        exec(REAPER, names)
        names["reap"](child)


def read_config(fd: int) -> dict:
    """The configuration the host writes on the pipe `fd`, read to its end; the fd is closed."""
    with open(fd, "rb") as pipe:
        return json.loads(pipe.read())


def main() -> None:
    cfg = read_config(int(sys.argv[1]))
    if cfg.get("init"):
        build_walls(
            cfg["expose"], cfg["hide"], cfg["workdir"], cfg["readonly"], cfg.get("workdir_tmpfs")
        )
        serve_as_init(cfg)
    else:
        become_worker(cfg)


if __name__ == "__main__":
    main()
