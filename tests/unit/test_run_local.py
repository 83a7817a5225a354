"""``make run`` can always be stopped (issue 14, defect 8): tools/run_local.py as a real process,
supervising stand-in services from a compose file of the test's own (each one a process group with a
grandchild, like ``faststream run --workers N``), is sent SIGINT or SIGTERM — once, or in a burst — and
must exit promptly, leaving none of its children or grandchildren behind. The first signal stops
gracefully; a second one while stopping kills at once. No broker or database is needed: the stand-ins
talk to nothing, so no endpoint is checked."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

from tools.run_local import StopRequests

ROOT = Path(__file__).resolve().parents[2]
RUN_LOCAL = ROOT / "tools" / "run_local.py"

CHILD = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    name, state, stubborn = sys.argv[1], sys.argv[2], sys.argv[3] == "stubborn"
    grandchild = subprocess.Popen(["sleep", "300"])  # stays in this process group, as workers do

    def terminated(signum, frame):
        with open(os.path.join(state, name + ".terminated"), "w") as f:
            f.write("SIGTERM")
        if not stubborn:
            time.sleep(0.3)  # a graceful stop takes a moment
            grandchild.terminate()
            sys.exit(0)

    signal.signal(signal.SIGTERM, terminated)
    with open(os.path.join(state, name + ".pids"), "w") as f:
        f.write(f"{os.getpid()} {grandchild.pid}")
    while True:
        print(name, "working", flush=True)
        time.sleep(0.05)
    """
)


def compose_file(tmp_path: Path, *, stubborn: tuple[str, ...] = (), migration_seconds: float = 0) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    services: dict[str, object] = {
        "stand-in-migrate": {
            "build": ".",
            "restart": "no",
            "command": ["python", "-c", f"import time; time.sleep({migration_seconds}); print('migrated')"],
        }
    }
    for name in ("alpha", "beta", "gamma"):
        services[name] = {
            "build": ".",
            "command": ["python", str(child), name, str(state), "stubborn" if name in stubborn else "graceful"],
            "environment": {"STAND_IN": name},
            "depends_on": ["stand-in-migrate"],
        }
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump({"services": services}))
    return path


def start(compose: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MEETDESK_API_TOKEN": "run-local-test-token-0123456789"}
    return subprocess.Popen(
        [sys.executable, str(RUN_LOCAL), "--file", str(compose)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the test's signals go to run_local alone, as `kill <pid>` would
    )


def wait_for_children(compose: Path, proc: subprocess.Popen[bytes], names=("alpha", "beta", "gamma")) -> list[int]:
    state = compose.parent / "state"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        files = [state / f"{n}.pids" for n in names]
        if all(f.exists() and f.read_text().strip() for f in files):
            return [int(p) for f in files for p in f.read_text().split()]
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(0.05)
    raise TimeoutError("the stand-in services did not start")


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"run_local did not exit within {timeout}s of the signal:\n{out.decode()[-3000:]}")
    return proc.returncode, out.decode()


def assert_all_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 5  # orphans are reaped by init a moment later
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "children or grandchildren left running"


@pytest.fixture
def cleanup():
    """Whatever a failing test leaves: kill it (only the processes this test started)."""
    started: list[int] = []
    yield started
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_stops_every_service_gracefully_and_run_local_exits(tmp_path, cleanup, sig):
    compose = compose_file(tmp_path)
    proc = start(compose)
    pids = wait_for_children(compose, proc)
    cleanup.extend(pids)
    os.kill(proc.pid, sig)
    code, out = wait_exit(proc, timeout=10)
    assert code == 0, out
    assert_all_gone(pids)
    for name in ("alpha", "beta", "gamma"):  # each was asked to stop (SIGTERM), none just killed
        assert (compose.parent / "state" / f"{name}.terminated").exists(), name
    assert "stopping (SIGTERM" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_burst_of_signals_never_wedges_run_local_and_leaves_no_child(tmp_path, cleanup, sig):
    """The stuck run of issue 14: a signal arriving while the main thread held a lock its handler
    wanted. Many signals at random moments of the main loop, then the same during the stop."""
    compose = compose_file(tmp_path)
    proc = start(compose)
    pids = wait_for_children(compose, proc)
    cleanup.extend(pids)
    rng = random.Random(14)
    for _ in range(200):
        if proc.poll() is not None:
            break
        os.kill(proc.pid, sig)
        time.sleep(rng.uniform(0, 0.004))
    wait_exit(proc, timeout=10)
    assert_all_gone(pids)


def test_the_second_signal_kills_a_service_that_ignores_the_first(tmp_path, cleanup):
    compose = compose_file(tmp_path, stubborn=("beta",))
    proc = start(compose)
    pids = wait_for_children(compose, proc)
    cleanup.extend(pids)
    state = compose.parent / "state"
    os.kill(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + 5
    while not (state / "beta.terminated").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    beta = int((state / "beta.pids").read_text().split()[0])
    assert proc.poll() is None, "run_local gave up waiting for a graceful stop too early"
    assert alive(beta), "the stubborn service should still be running within the grace period"
    os.kill(proc.pid, signal.SIGINT)  # the user presses Ctrl-C again
    _, out = wait_exit(proc, timeout=5)
    assert_all_gone(pids)
    assert "signalled again: killing beta" in out


def test_a_signal_during_the_migrations_stops_them_and_starts_no_service(tmp_path, cleanup):
    compose = compose_file(tmp_path, migration_seconds=300)
    proc = start(compose)
    deadline = time.monotonic() + 20
    out = b""
    while b"migrating: stand-in-migrate" not in out and time.monotonic() < deadline:
        out += proc.stdout.read1(4096) if proc.stdout else b""
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)
    code, rest = wait_exit(proc, timeout=10)
    assert code == 130, out.decode() + rest
    assert not list((compose.parent / "state").glob("*.pids")), "a service was started after the stop"
    assert "migrated" not in rest


def lock_calls(fn, *args) -> list[str]:
    """The lock operations ``fn(*args)`` performs (as a profiler sees the C calls it makes)."""
    lock_types = (type(threading.Lock()), type(threading.RLock()))
    seen: list[str] = []

    def profile(frame, event, arg):
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), lock_types):
            seen.append(f"{type(arg.__self__).__name__}.{arg.__name__} in {frame.f_code.co_qualname}")

    sys.setprofile(profile)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return seen


def test_the_signal_handler_takes_no_lock_and_counts_every_signal():
    """A signal handler runs in the main thread between two bytecodes, maybe while that thread holds
    a lock; one that then waits for the same lock never returns (the stuck `make run` of issue 14:
    ``Event.set`` in the handler, the main thread inside ``Event.wait``)."""
    assert lock_calls(threading.Event().set), "the check must see the lock a threading.Event takes"
    stop = StopRequests()
    assert lock_calls(stop, signal.SIGINT, None) == []
    for _ in range(4):
        stop(signal.SIGTERM, None)
    assert stop.requested and stop.count == 5 and stop.first == signal.SIGINT
