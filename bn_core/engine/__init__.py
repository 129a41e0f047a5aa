"""Training runs: trainers (training.py), the host that trains many runs in one thread
(host.py), the CPU-aware scheduler (scheduler.py), the backends that host it (backends/), the
run handle pages use (run.py), the registry that shares runs among viewers (registry.py), and
run budgets (budget.py).

`get_registry()` is the process-wide registry of the app: its backend comes from
BNLAB_BACKEND (workers, the default; inprocess; ray). It lives in this module, not in a cache a
client could clear, and is shut down at exit.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading

log = logging.getLogger("bn_core.engine")

_lock = threading.Lock()
_default_backend = None
_registry = None


def default_backend():
    """An in-process backend for runs made without one (tests, the command line)."""
    global _default_backend
    with _lock:
        if _default_backend is None:
            from bn_core.engine.backends.inprocess import InProcessBackend

            _default_backend = InProcessBackend(1)
            atexit.register(_default_backend.shutdown)
        return _default_backend


def env_number(name: str, default, kind=float):
    """A positive number from the environment (server operators tune the engine with it)."""
    raw = os.environ.get(name)
    try:
        value = kind(raw) if raw is not None else default
    except ValueError:
        log.warning("ignoring %s=%r: not a number", name, raw)
        return default
    return value if value > 0 else default


def make_backend(name: str | None = None):
    """The backend named by `name` or BNLAB_BACKEND."""
    name = (name or os.environ.get("BNLAB_BACKEND") or "workers").strip().lower()
    if name == "inprocess":
        from bn_core.engine.backends.inprocess import InProcessBackend

        return InProcessBackend(env_number("BNLAB_WORKERS", 1, int))
    if name == "ray":
        from bn_core.engine.backends.ray_backend import RayBackend

        return RayBackend(address=os.environ.get("RAY_ADDRESS"))
    if name != "workers":
        log.warning("unknown BNLAB_BACKEND=%r; using worker processes", name)
    from bn_core.engine.backends.workers import WorkerBackend

    return WorkerBackend(env_number("BNLAB_WORKERS", os.cpu_count() or 1, int))


def get_registry():
    """The app's one registry (created on first use, shut down at exit)."""
    global _registry
    with _lock:
        if _registry is None:
            from bn_core.engine.registry import IDLE_TIMEOUT, MAX_RUNS, RunRegistry

            _registry = RunRegistry(
                backend=make_backend(),
                max_runs=env_number("BNLAB_MAX_RUNS", MAX_RUNS, int),
                idle_timeout=env_number("BNLAB_IDLE_TIMEOUT", IDLE_TIMEOUT))
            atexit.register(_registry.shutdown)
        return _registry


def reset_registry() -> None:
    """Shut the app's registry down and forget it (tests)."""
    global _registry
    with _lock:
        registry, _registry = _registry, None
    if registry is not None:
        registry.shutdown()
