"""Shared fixtures for the engine tests: small configs, run tracking and a thread-leak check.

Backends start daemon threads named 'bnlab-*' (and worker processes). Every `Run` created while
a test that uses `no_leaked_threads` is running (directly or through a `RunRegistry`) is
recorded, stopped in teardown, and the test fails if any 'bnlab-' thread it started is still
alive afterwards. The shared in-process backend that runs made without one use is started once
for the session, before any test.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

from bn_core import engine
from bn_core.engine import run as run_module
from bn_core.config import RunConfig

# Pages run in this process (Streamlit's AppTest) never warm up torch in the background
# (bnlab_ui.core.warm_up): its thread would outlive the test. Servers the tests start do
# (tests/browser_server.py), as a real one does.
os.environ["BNLAB_WARM_UP"] = "0"

THREAD_PREFIX = "bnlab-"
JOIN_TIMEOUT = 10.0


def bnlab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return bool(value)
        time.sleep(interval)


def toy_config(**changes) -> RunConfig:
    """A small, fast 'moons' config: 2 hidden layers of 8 sigmoid units, no decision grid."""
    base = dict(dataset="moons", n_samples=200, noise=0.2, depth=2, width=8,
                activation="sigmoid", batch_size=20, lr=0.5, steps=100, probe_every=10,
                eval_every=10, grid_resolution=0, heldout_size=100, seed=0)
    base.update(changes)
    return RunConfig(**base)


def endless_config(**changes) -> RunConfig:
    """A run that would train for a long time at a steady pace: stopped by the test."""
    return toy_config(steps=200_000, pace=200.0, probe_every=2, eval_every=50, **changes)


@pytest.fixture
def created_runs(monkeypatch):
    """Every Run constructed during the test (also those a registry makes)."""
    runs: list[run_module.Run] = []
    original = run_module.Run.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        runs.append(self)

    monkeypatch.setattr(run_module.Run, "__init__", tracking_init)
    return runs


@pytest.fixture
def no_leaked_threads(created_runs):
    """Stop every run made in the test; fail if a 'bnlab-' thread outlives it."""
    before = set(bnlab_threads())
    yield created_runs
    for run in created_runs:
        run.stop("test teardown")
    for run in created_runs:
        run.wait(JOIN_TIMEOUT)
    wait_until(lambda: not [t for t in bnlab_threads() if t not in before], JOIN_TIMEOUT)
    leaked = [t.name for t in bnlab_threads() if t not in before]
    assert not leaked, f"threads still alive after the test: {leaked}"


@pytest.fixture(autouse=True, scope="session")
def shared_backend():
    """The in-process backend of runs made without one, started before any test."""
    return engine.default_backend()


@pytest.fixture
def zh():
    """Chinese in the test's own thread too: AppTest calls a widget's format_func (which
    translates) here, outside the script's thread, when it re-runs the page."""
    from bn_core import i18n

    with i18n.language("zh"):
        yield
