"""The worker-process backend, with real processes: training happens outside this process, a
crashed worker fails only its own runs and is replaced, and no worker outlives its server
(normal exit, SIGTERM, SIGKILL of the server)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bn_core.engine.backends.workers import WorkerBackend
from bn_core.engine.registry import RunRegistry

from conftest import toy_config, wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def workers():
    backend = WorkerBackend(2)
    assert backend.wait_ready(120)
    yield backend
    pids = backend.pids()
    backend.shutdown()
    assert wait_until(lambda: not any(alive(p) for p in pids), timeout=20)


def test_training_happens_in_the_worker_processes(workers):
    registry = RunRegistry(backend=workers, idle_timeout=None)
    run = registry.start(toy_config(seed=41, steps=300))
    assert run.wait(60) and run.status == "finished"
    assert run.host in (0, 1)
    assert wait_until(lambda: run.host in workers.health, timeout=10)
    assert workers.health[run.host]["pid"] in workers.pids()
    assert workers.health[run.host]["pid"] != os.getpid()
    snap = run.snapshot()
    assert snap.step == 300 and snap.nets["bn"].evals["train_acc"][-1] > 0.7
    registry.clear()


def test_a_killed_worker_fails_its_runs_is_replaced_and_other_runs_go_on(workers):
    registry = RunRegistry(backend=workers, idle_timeout=None)
    runs = [registry.start(toy_config(seed=s, steps=200_000, pace=100.0)) for s in (42, 43, 44, 45)]
    assert wait_until(lambda: all(r.status == "running" for r in runs), timeout=60)
    hosts = {r.host for r in runs}
    assert hosts == {0, 1}  # the scheduler spread them
    victim_host = runs[0].host
    victim_pid = workers.channels[victim_host].pid
    os.kill(victim_pid, signal.SIGKILL)
    on_victim = [r for r in runs if r.host == victim_host]
    others = [r for r in runs if r.host != victim_host]
    assert wait_until(lambda: all(r.status == "failed" for r in on_victim), timeout=30)
    for r in on_victim:
        assert "killed by SIGKILL" in r.snapshot().message
        assert "other runs are not affected" in r.snapshot().message
    held = {r.key: r.snapshot().step for r in others}
    assert wait_until(lambda: all(r.snapshot().step > held[r.key] + 20 for r in others), timeout=30)
    # a new worker took the dead one's place, and a restarted run trains again
    assert wait_until(lambda: workers.channels[victim_host].pid != victim_pid
                      and workers.channels[victim_host].ready.is_set(), timeout=120)
    assert not alive(victim_pid)
    again = on_victim[0].restart()
    assert wait_until(lambda: again.status == "running" and again.snapshot().step > 10, timeout=60)
    registry.clear()


PARENT = textwrap.dedent("""
    import sys, time
    from bn_core.engine.backends.workers import WorkerBackend
    from bn_core.engine.registry import RunRegistry
    from bn_core.config import RunConfig
    backend = WorkerBackend(2)
    backend.wait_ready(120)
    registry = RunRegistry(backend=backend, idle_timeout=None)
    registry.start(RunConfig(dataset="moons", steps=200000, width=8, depth=2, pace=100.0))
    print("PIDS", *backend.pids(), flush=True)
    {tail}
""")


@pytest.mark.parametrize("how", ["exit", "sigterm", "sigkill"])
def test_no_worker_outlives_its_server(how):
    tail = {"exit": "time.sleep(1.0)",  # then a normal exit: atexit shuts the pool down
            "sigterm": "time.sleep(600)", "sigkill": "time.sleep(600)"}[how]
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(tail=tail)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = ""
        while not line.startswith("PIDS"):
            line = parent.stdout.readline()
            assert line, "the parent exited before starting its workers"
        pids = [int(p) for p in line.split()[1:]]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        if how == "sigterm":
            parent.send_signal(signal.SIGTERM)
        elif how == "sigkill":
            parent.kill()
        parent.wait(60)
        assert wait_until(lambda: not any(alive(p) for p in pids), timeout=20), \
            f"workers {pids} outlived their server ({how})"
    finally:
        if parent.poll() is None:
            parent.kill()
