"""One `make run` per data folder, no orphans, clear messages when something is in the way.

- `<state dir>/run.lock`: an flock held by the running parent (the kernel drops it when the
  process dies, even by SIGKILL) plus its pid. A live owner: refuse, naming the pid and the
  command that stops it. A dead owner that did not stop cleanly: take over and say so.
- the app process (child) dies with its parent: PR_SET_PDEATHSIG on Linux, and a thread that
  watches the parent pid everywhere.
- a port already in use: say which process holds it (from /proc, no ss/lsof needed) and how to
  free it; an app process orphaned by a killed `make run` (of an older version) is stopped.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("coop.local")


class Refused(Exception):
    """The stack cannot start; the message says why and what to type."""


# --- the state directory's lock ------------------------------------------------------------------


@dataclass
class StateLock:
    directory: Path
    _fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / "run.lock"

    def acquire(self) -> str | None:
        """Take the lock. Returns a note when a previous owner died without stopping cleanly;
        raises Refused when another `make run` is using the folder."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            owner = _read_owner(self.path).get("pid")
            who = f"pid {owner}" if owner else "another process"
            stop = f"`kill {owner}`" if owner else f"`fuser -k {self.path}`"
            raise Refused(
                f"Another `make run` ({who}) is already using the local data in {self.directory}."
                f"\n  Stop it with Ctrl-C in its terminal or {stop}, then start again;"
                " or give this one its own data: `python -m infra.local run --state-dir DIR`."
            ) from None
        previous = _read_owner(self.path)
        self._fd = fd
        self._write({"pid": os.getpid(), "state": "running", "since": time.time()})
        if previous.get("state") == "running" and previous.get("pid") != os.getpid():
            return (
                f"took over the data folder from pid {previous.get('pid')}, which is gone without"
                " stopping cleanly (killed?): its acknowledged writes come back from the journal"
            )
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        self._write({"pid": os.getpid(), "state": "stopped", "since": time.time()})
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def _write(self, content: dict[str, object]) -> None:
        assert self._fd is not None
        data = json.dumps(content).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)


def _read_owner(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# --- ports ----------------------------------------------------------------------------------------


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (any address), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A: LISTEN
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_owner(port: int) -> int | None:
    """The pid listening on `port`, if this user can see it."""
    inodes = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_orphaned_app(pid: int) -> bool:
    """An app process (`infra.local serve`) whose `make run` is gone."""
    args = command_line(pid)
    if "infra.local" not in args or "serve" not in args:
        return False
    parent = _parent_of(pid)
    if "--parent-pid" in args:
        index = args.index("--parent-pid") + 1
        expected = int(args[index]) if index < len(args) and args[index].isdigit() else None
        return expected is None or parent != expected or not _alive(expected)
    parent_args = command_line(parent) if parent else []
    return not ("infra.local" in parent_args and "run" in parent_args)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid) or _is_zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def free_port(port: int, what: str, env_var: str, grace: float = 3.0) -> str | None:
    """Make sure `port` can be bound. An orphaned app process is stopped (returns a note);
    anything else: Refused, naming the pid and the command that frees the port."""
    if port_is_free(port):
        return None
    pid = port_owner(port)
    note = None
    if pid is not None and is_orphaned_app(pid):
        # Its parent is gone: it exits by itself within a second (watchdog); older ones do not.
        if not _wait_gone(pid, grace):
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 5.0):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 2.0)
            note = f"stopped pid {pid}, an app process left behind by a killed `make run`"
        for _ in range(30):
            if port_is_free(port):
                return note or f"waited for pid {pid} (left by a killed `make run`) to exit"
            time.sleep(0.1)
    if pid is not None:
        command = " ".join(command_line(pid))[:120] or "?"
        raise Refused(
            f"Port {port} ({what}) is already in use by pid {pid} ({command})."
            f"\n  Stop it with `kill {pid}`, or use another port: `{env_var}={port + 10} make run`."
        )
    raise Refused(
        f"Port {port} ({what}) is already in use by a process this user cannot see."
        f"\n  Find it with `ss -ltnp 'sport = :{port}'` (or `sudo lsof -i :{port}`),"
        f" or use another port: `{env_var}={port + 10} make run`."
    )


# --- the child dies with its parent ---------------------------------------------------------------

PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """In the app process: get SIGTERM when the parent dies (Linux), and poll the parent pid
    anyway (other systems, or a parent that died before the prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        log.warning("the `make run` process is gone: the app process exits")
        sys.exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        os._exit(1)  # the clean stop did not finish: do not keep the port

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
