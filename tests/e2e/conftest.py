"""Shared harness for gantry's end-to-end tests (generic: used by the data plane and control plane
suites alike).

Fixtures
  gantry_bin     path of the binary under test: $GANTRY_BIN, else <repo>/build/gantry.
  start_gantry   factory: start_gantry(snapshot=Snapshot|dict|path, config_dir=..., workers=2,
                 args=[...]) -> Gantry, started and ready (its ports accept connections). Every
                 process started is stopped at test teardown (SIGTERM, then SIGKILL after 5 s), and
                 its log is attached to the report of a failing test.
  make_echo      factory: make_echo(name="echo", defaults={...}) -> EchoBackend, closed at teardown.
  echo           one EchoBackend named "echo".

All sockets are on 127.0.0.1 with free ports chosen at run time, so suites can run side by side.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from backends.echo import EchoBackend  # noqa: E402
from backends.snapshot import Snapshot, free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# Every gantry process started by this session, so none outlives it (also on Ctrl-C).
_PROCS: list[subprocess.Popen] = []


def _kill_leftovers() -> None:
    for p in _PROCS:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


atexit.register(_kill_leftovers)


# gantry is SIGKILLed if the test runner dies (even by SIGKILL): PR_SET_PDEATHSIG, set by util-linux's
# setpriv, which then execs gantry (same pid). Not with a Popen preexec_fn: that forces a plain
# fork() running Python in the child, and a fork while grpcio's threads run (gRPC backends started
# before gantry) could abort the child in grpcio's fork handlers (exit -6 at start-up, seen in CI
# runs of test_grpcroute). Without preexec_fn, subprocess uses vfork/posix_spawn and no atfork
# handler runs.
_SETPRIV = shutil.which("setpriv")


def _spawn_args(args: list[str]) -> list[str]:
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *args] if _SETPRIV else list(args)


def wait_port(host: str, port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> bool:
    """Waits until host:port accepts a TCP connection (and proc, if given, is still alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class Gantry:
    """One running gantry process."""

    def __init__(self, binary: str, args: list[str], log_path: Path, wait_ports: list[tuple[str, int]],
                 admin_port: int, snapshot_path: Path | None = None):
        self.args = [binary, *args]
        self.log_path = log_path
        self.admin_port = admin_port
        self.admin_address = f"127.0.0.1:{admin_port}"
        self.snapshot_path = snapshot_path
        self.wait_ports = wait_ports
        self.port = wait_ports[0][1] if wait_ports else None
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(_spawn_args(self.args), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _PROCS.append(self.proc)
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 15.0) -> None:
        for host, port in self.wait_ports + [("127.0.0.1", self.admin_port)]:
            if not wait_port(host, port, timeout, self.proc):
                rc = self.proc.poll()
                self.stop()
                raise RuntimeError(
                    f"gantry not ready: port {host}:{port} not accepting"
                    f" (exit code {rc}); command: {' '.join(self.args)}\n--- log ---\n{self.log()}"
                )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """Waits for exit; returns the exit code, or None if still running after timeout."""
        try:
            self.returncode = self.proc.wait(timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within timeout. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        if not self._log.closed:
            self._log.close()
        return self.returncode

    def log(self) -> str:
        try:
            self._log.flush()
        except ValueError:
            pass
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def proc_status_kib(self, field: str) -> int:
        """A kB field of /proc/<pid>/status, e.g. VmRSS or VmHWM."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def url(self, path: str = "/", port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}{path}"

    def write_snapshot(self, snapshot) -> None:
        """Replaces the snapshot file (atomically: write + rename), for reload tests."""
        assert self.snapshot_path is not None
        tmp = self.snapshot_path.with_suffix(".tmp")
        tmp.write_text(snapshot.to_json() if hasattr(snapshot, "to_json") else str(snapshot))
        os.replace(tmp, self.snapshot_path)


@pytest.fixture(scope="session")
def gantry_bin() -> str:
    path = os.environ.get("GANTRY_BIN") or str(REPO / "build" / "gantry")
    if not os.access(path, os.X_OK):
        pytest.fail(f"gantry binary not found at {path}: build it (make build) or set GANTRY_BIN",
                    pytrace=False)
    return path


_ITEM_GANTRIES = pytest.StashKey[list]()


@pytest.fixture
def start_gantry(gantry_bin, tmp_path, request):
    started: list[Gantry] = []
    request.node.stash[_ITEM_GANTRIES] = started

    def _start(snapshot=None, config_dir=None, workers: int = 2, args=(), wait: bool = True,
               wait_ports=None, admin_port: int | None = None) -> Gantry:
        admin_port = admin_port or free_port()
        cmd = ["run", "--workers", str(workers), "--admin-address", f"127.0.0.1:{admin_port}"]
        snap_path = None
        ports: list[tuple[str, int]] = []
        if snapshot is not None:
            if isinstance(snapshot, (str, Path)):
                snap_path = Path(snapshot)
            else:
                snap_path = tmp_path / f"snapshot-{len(started)}.json"
                snap_path.write_text(snapshot.to_json() if hasattr(snapshot, "to_json")
                                     else __import__("json").dumps(snapshot))
            cmd += ["--snapshot", str(snap_path)]
            if hasattr(snapshot, "ports"):
                ports = [(p.address, p.port) for p in snapshot.ports]
        if config_dir is not None:
            cmd += ["--config", str(config_dir)]
        cmd += [str(a) for a in args]
        if wait_ports is not None:
            ports = list(wait_ports)
        g = Gantry(gantry_bin, cmd, tmp_path / f"gantry-{len(started)}.log", ports, admin_port,
                   snap_path)
        started.append(g)
        if wait:
            g.wait_ready()
        return g

    yield _start
    for g in started:
        g.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for i, g in enumerate(item.stash.get(_ITEM_GANTRIES, [])):
            tail = g.log()[-4000:]
            rep.sections.append((f"gantry[{i}] log ({' '.join(g.args[1:])})", tail))


@pytest.fixture
def make_echo():
    made: list[EchoBackend] = []

    def _make(name: str = "echo", defaults: dict | None = None) -> EchoBackend:
        b = EchoBackend(name, defaults=defaults)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


@pytest.fixture
def echo(make_echo) -> EchoBackend:
    return make_echo("echo")


__all__ = ["Gantry", "Snapshot", "free_port", "wait_port", "EchoBackend"]
