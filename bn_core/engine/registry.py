"""The process-wide set of runs that every viewer of the app shares.

Equal configs get the same `Run` (a class of 30 opening one page trains one run). The number of
kept runs is bounded (least recently used go first, their threads stopped and joined), and so is
the number training at once: a run over that cap waits in a queue, with its place shown.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from bn_core.config import RunConfig
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.training import Run

log = logging.getLogger("bn_core.engine.registry")

MAX_RUNS = 16          # kept runs (finished ones included), per process
MAX_TRAINING = 2       # runs training at once: the machine has 2 cores
IDLE_TIMEOUT = 60.0    # seconds without a viewer before a live run stops


class RunRegistry:
    """Runs keyed by `RunConfig.key()`, LRU-bounded, with a cap on concurrent training."""

    def __init__(self, max_runs: int = MAX_RUNS, max_training: int = MAX_TRAINING,
                 idle_timeout: float | None = IDLE_TIMEOUT, capacity: int = DEFAULT_CAPACITY):
        if max_runs < 1 or max_training < 1:
            raise ValueError("max_runs and max_training: allowed: at least 1")
        self.max_runs, self.max_training = max_runs, max_training
        self.idle_timeout, self.capacity = idle_timeout, capacity
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_training)
        self._queue: list[Run] = []

    def get(self, config: RunConfig) -> Run:
        """The run for this config, created (not started) if there is none; marks it recent."""
        key = config.key()
        evicted = []
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                run = Run(config, capacity=self.capacity, slots=self._slots,
                          idle_timeout=self.idle_timeout, on_queue=self._queued)
                self._runs[key] = run
                log.info("new run (%d kept): %s", len(self._runs), key)
                while len(self._runs) > self.max_runs:
                    evicted.append(self._evict_one(keep=key))
            self._runs.move_to_end(key)
        for old in evicted:
            old.stop("evicted: too many runs on this server", wait=5.0)
        return run

    def start(self, config: RunConfig) -> Run:
        """Get the run and start it unless it is already live or done."""
        run = self.get(config)
        if run.status == "ready":
            run.start()
        return run

    def peek(self, key: str) -> Run | None:
        with self._lock:
            return self._runs.get(key)

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def summary(self) -> list[dict]:
        """One row per kept run, most recent first: what a server status page lists."""
        rows = []
        for run in reversed(self.runs()):
            snap = run.snapshot()
            cfg = snap.config
            rows.append({
                "data": cfg.dataset, "nets": ", ".join(cfg.nets),
                "net": f"{cfg.depth}x{cfg.width} {cfg.activation}", "status": snap.status,
                "step": snap.step, "steps": snap.total_steps,
                "steps_per_s": round(snap.steps_per_sec, 1), "viewers": snap.viewers,
                "queue": snap.queue_position, "key": snap.key,
            })
        return rows

    def training_count(self) -> int:
        return sum(1 for r in self.runs() if r.status in ("loading", "running", "paused"))

    def shutdown(self, wait: float = 5.0) -> None:
        """Stop every run and wait for its threads."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            run.stop("server shutting down", wait=None)
        for run in runs:
            run.wait(wait)

    def _evict_one(self, keep: str) -> Run:
        # Prefer the least recently used run that is not training; else the least recent.
        # Never the run being handed out (`keep`): it is new, so not yet alive.
        others = [k for k in self._runs if k != keep]
        victim = next((k for k in others if not self._runs[k].alive), others[0])
        return self._runs.pop(victim)

    def _queued(self, run: Run, waiting: bool) -> None:
        with self._lock:
            if waiting:
                self._queue.append(run)
            elif run in self._queue:
                self._queue.remove(run)
            for i, r in enumerate(self._queue):
                r.queue_position = i + 1
            if not waiting:
                run.queue_position = None
