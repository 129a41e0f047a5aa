"""The set of runs that every viewer of the app shares.

Equal configs get the same `Run` (a class of 30 opening one page trains one run). Invariants:
- a watched run is never evicted: when the registry is full, the least recently seen run
  with no viewers goes (its trainer is stopped and freed); if every run is watched, a new
  config is refused with a clear message instead;
- recency is every look at a run (each live refresh), not only full page loads;
- a run nobody watches any more is paused at once (the viewer who moved a slider was its only
  viewer) and resumes where it was when someone opens it again;
- the registry lives in bn_core.engine, not in a cache a client can clear.
"""
from __future__ import annotations

import logging
import threading
import time

from bn_core.config import RunConfig
from bn_core.engine.budget import estimate_memory_mib
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.run import Run, run_key

log = logging.getLogger("bn_core.registry")

MAX_RUNS = 64          # kept runs (finished ones included), per server process
IDLE_TIMEOUT = 15.0    # seconds without a look before a live run is paused


class RegistryFull(ValueError):
    """Every kept run is being watched: no room for another."""


class RunRegistry:
    """Runs keyed by `RunConfig.key()`, bounded, never evicting a watched run."""

    def __init__(self, backend=None, max_runs: int = MAX_RUNS,
                 idle_timeout: float | None = IDLE_TIMEOUT, capacity: int = DEFAULT_CAPACITY):
        if max_runs < 1:
            raise ValueError("max_runs: allowed: at least 1")
        self._owns_backend = backend is not None
        if backend is None:
            from bn_core.engine import default_backend
            backend = default_backend()
        self.backend = backend
        self.max_runs, self.idle_timeout, self.capacity = max_runs, idle_timeout, capacity
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def get(self, config: RunConfig, scope: str = "") -> Run:
        """The run for this config (and scope: "" for the shared one), created (not started)
        if there is none; marks it seen."""
        key = run_key(config, scope)
        evicted = []
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                run = Run(config, backend=self.backend, capacity=self.capacity,
                          idle_timeout=self.idle_timeout, scope=scope)
                while len(self._runs) >= self.max_runs:
                    victim = self._eviction_candidate()
                    if victim is None:
                        raise RegistryFull(
                            f"this server is keeping {len(self._runs)} runs that are all being "
                            "watched, its limit; ask the teacher to stop some, or try again "
                            "when a run finishes")
                    del self._runs[victim.key]
                    evicted.append(victim)
                self._runs[key] = run
                log.info("new run (%d kept): %s", len(self._runs), key[:120])
            run.last_seen = time.monotonic()
        for old in evicted:
            log.info("evicting %s", old.key[:120])
            old.stop("evicted: too many runs on this server")
            self.backend.forget(old)
        return run

    def _eviction_candidate(self) -> Run | None:
        unwatched = [r for r in self._runs.values() if not r.viewer_ids()]
        return min(unwatched, key=lambda r: r.last_seen, default=None)

    def start(self, config: RunConfig, scope: str = "") -> Run:
        """Get the run and start it unless it is already live or done."""
        run = self.get(config, scope)
        if run.status == "ready":
            run.start()
        return run

    def watch(self, run: Run, viewer: str) -> None:
        """A viewer looks at the run: count them, and wake a run paused for want of viewers."""
        run.touch(viewer)
        if run.status == "paused" and run.paused_by == "idle":
            run.resume()

    def leave(self, run: Run, viewer: str) -> None:
        """A viewer moved on (another setting, another page): pause the run if that was the
        last viewer, so an abandoned run never holds the CPU."""
        run.release(viewer)
        if run.viewers == 0 and run.status in ("running", "loading", "queued"):
            run.pause(by="idle")

    def peek(self, key: str) -> Run | None:
        with self._lock:
            return self._runs.get(key)

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def summary(self) -> list[dict]:
        """One row per kept run, most recently seen first: what a server status page lists."""
        rows = []
        for run in sorted(self.runs(), key=lambda r: r.last_seen, reverse=True):
            snap = run.snapshot()
            cfg = snap.config
            rows.append({
                "data": cfg.dataset, "nets": ", ".join(cfg.nets),
                "net": f"{cfg.depth}x{cfg.width} {cfg.activation}", "status": snap.status,
                "step": snap.step, "steps": snap.total_steps,
                "steps_per_s": round(snap.steps_per_sec, 1), "pace": snap.pace,
                "viewers": snap.viewers, "queue": snap.queue_position,
                "host": run.host, "memory_mib": round(estimate_memory_mib(cfg), 1),
                "key": snap.key,
            })
        return rows

    def training_count(self) -> int:
        return sum(1 for r in self.runs() if r.status in ("loading", "running"))

    def stop_all(self, reason: str = "stopped by the teacher") -> int:
        n = 0
        for run in self.runs():
            if run.alive:
                run.stop(reason)
                n += 1
        return n

    def clear(self, reason: str = "cleared") -> None:
        """Stop and forget every run; the backend stays up (tests)."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            run.stop(reason)
            self.backend.forget(run)

    def shutdown(self, wait: float = 5.0) -> None:
        """Stop every run, then the backend (its threads and processes). A backend whose runs
        other servers share (Ray: a run is the cluster's actor) keeps them: this server only
        stops mirroring them, and an actor nobody polls any more stops itself."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        shared = getattr(self.backend, "shares_runs", False)
        for run in runs:
            if not shared:
                run.stop("server shutting down")
            self.backend.forget(run)
        if self._owns_backend:
            self.backend.shutdown()
