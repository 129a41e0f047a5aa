"""A run as the pages see it: one config, its records, its viewers, and the commands that
control its training wherever that happens (a worker process, a thread, a Ray actor).

Commands are applied in the order they are given and each one wins over those before it: the
`Run` changes its own status at once (so a page redrawn after a click shows it) and tags the
command with a sequence number; a trainer's update only sets the status once it has seen that
command. Training never happens here: `backend` does it.
"""
from __future__ import annotations

import functools
import logging
import itertools
import threading
import time
import uuid

import numpy as np

from bn_core.config import RunConfig
from bn_core.data import custom
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.records import LIVE_STATUSES, RunRecord, RunSnapshot
from bn_core.nets import zones

log = logging.getLogger("bn_core.run")

VIEWER_TIMEOUT = 10.0   # seconds after its last refresh that a viewer still counts
ORIGIN = uuid.uuid4().hex[:12]  # this process, as the origin of the commands it sends
_ATTEMPTS = itertools.count(1)   # attempt ids, unique in this process (a re-made run of the
                                 # same config must not take a stale trainer's updates)


@functools.lru_cache(maxsize=64)
def _views_of(key: str, config: RunConfig):
    """Data and histogram edges of a config, as the trainer computes them (cached)."""
    from bn_core.engine.run_data import bn_input_edges, load_data

    data = load_data(config)
    viewport = data.viewport() if config.is_toy and config.grid_resolution > 0 else None
    return (data, zones.histogram_edges(config.activation),
            bn_input_edges(config.activation, config.placement), viewport)


def run_key(config: RunConfig, scope: str = "") -> str:
    """A run's identity: its config, and a scope when it is someone's own copy (a student
    exploring on their own gets runs nobody else shares)."""
    return config.key() + (f"|{scope}" if scope else "")


def snapshot_of(config: RunConfig, record: RunRecord, **extra) -> RunSnapshot:
    """A RunSnapshot of one attempt's record."""
    nets = record.net_views()
    data = edges = bn_edges = viewport = None
    if nets:
        try:
            data, edges, bn_edges, viewport = _views_of(config.key(), config)
        except Exception:  # the trainer reports why the data failed; the page shows that
            pass
    live = [v.step for v in nets.values() if v.status == "training"]
    step = min(live) if live else max((v.step for v in nets.values()), default=record.step)
    return RunSnapshot(
        key=extra.pop("key", None) or config.key(), config=config, status=record.status, message=record.message,
        step=step, total_steps=config.steps, steps_per_sec=record.steps_per_sec,
        elapsed=record.elapsed, nets=nets, edges=edges, bn_edges=bn_edges, viewport=viewport,
        data=data, viewers=extra.pop("viewers", 0), attempt=record.attempt, pace=record.pace,
        **extra)


class Run:
    """A config's training, shared by every viewer of it (see the module docstring)."""

    def __init__(self, config: RunConfig, backend=None, capacity: int = DEFAULT_CAPACITY,
                 idle_timeout: float | None = None, scope: str = ""):
        from bn_core.engine.run_data import check_config

        check_config(config)
        self.config, self.scope = config, scope
        self.key = run_key(config, scope)
        if backend is None:
            from bn_core.engine import default_backend
            backend = default_backend()
        self.backend = backend
        self.capacity, self.idle_timeout = capacity, idle_timeout
        self.record = RunRecord(0, capacity)
        self.record.pace = config.pace
        self.previous: RunRecord | None = None
        self.pace = config.pace
        self.paused_by = ""
        self.queue_position: int | None = None
        self.queue_wait: float | None = None
        self.host: object | None = None       # where the backend placed it
        self._lock = threading.RLock()
        self._seq = 0
        self._status_seq = 0                  # seq of the last command that set the status
        self._done = threading.Event()
        self._done.set()
        self._viewers: dict[str, float] = {}
        self._frozen = False                  # stopped here: later records are not shown
        self.had_viewers = False
        self.last_seen = time.monotonic()
        self.created = time.monotonic()

    # -- state
    @property
    def status(self) -> str:
        return self.record.status

    @property
    def alive(self) -> bool:
        return self.record.status in LIVE_STATUSES

    @property
    def attempt(self) -> int:
        return self.record.attempt

    def _command(self, op: str, status: str | None = None, **fields) -> dict:
        """A command for the backend, numbered; sets the expected status at once."""
        self._seq += 1
        if status is not None:
            self._status_seq = self._seq
            self.record.status = status
        return {"op": op, "key": self.key, "attempt": self.record.attempt, "origin": ORIGIN,
                "seq": self._seq, **fields}

    # -- control (each returns at once; the backend acts within a slice)
    def start(self, paused: bool = False) -> "Run":
        """Start training (from scratch if it ran before); no-op while it is live."""
        with self._lock:
            if self.alive:
                return self
            if self.record.nets:
                for rec in self.record.nets.values():
                    if rec.status == "training":
                        rec.apply({"status": "stopped"})
                self.previous = self.record
            self.record = RunRecord(next(_ATTEMPTS), self.capacity)
            self.record.pace = self.pace
            self.paused_by = "viewer" if paused else ""
            self._frozen = False
            self._done.clear()
            cmd = self._command("start", "queued", config=self.config, pace=self.pace,
                                paused=paused)
            points = custom.attachment(self.config.dataset)
            if points is not None:  # an uploaded data set: its points go with the command
                cmd["points"] = points
            self.last_seen = time.monotonic()
        self.backend.submit(self, cmd)
        return self

    def pause(self, by: str = "viewer") -> None:
        with self._lock:
            if self.status not in ("running", "loading", "queued"):
                return
            self.paused_by = by
            cmd = self._command("pause", "paused", by=by)
        self.backend.command(self, cmd)

    def resume(self) -> None:
        with self._lock:
            if self.status != "paused":
                return
            self.paused_by = ""
            cmd = self._command("resume", "running")
        self.backend.command(self, cmd)

    def step(self, n: int = 1) -> None:
        """Take exactly `n` steps, then stay paused."""
        with self._lock:
            if self.status not in ("paused", "running"):
                return
            self.paused_by = "viewer"
            cmd = self._command("step", "paused", n=max(1, int(n)))
        self.backend.command(self, cmd)

    def set_pace(self, pace: float) -> None:
        """Change the steps-per-second limit (0: as fast as the server allows)."""
        with self._lock:
            self.pace = self.record.pace = max(0.0, float(pace))
            if not self.alive:
                return
            cmd = self._command("pace", pace=self.pace)
        self.backend.command(self, cmd)

    def stop(self, reason: str = "stopped", wait: float | None = None) -> None:
        """Cancel training; the backend frees the run's nets within a slice."""
        with self._lock:
            if not self.alive:
                return
            self.record.message = reason
            cmd = self._command("stop", "stopped", reason=reason)
            self.paused_by = ""
            self._frozen = True
        if reason != "server shutting down":  # at exit the log's stream may be gone
            log.info("run %s: %s", self.key[:60], reason)
        self.backend.command(self, cmd)
        self._finished_locally()
        if wait:
            self.wait(wait)

    def restart(self) -> "Run":
        self.stop("restarted")
        return self.start()

    def _finished_locally(self) -> None:
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run is no longer live; returns whether it is not."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.alive:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._done.wait(0.05 if left is None else min(0.05, left))
        return True

    def wait_first_record(self, timeout: float = 0.5) -> bool:
        """Wait (briefly) until the nets have published their step-0 records."""
        record = self.record
        record.first_record.wait(timeout)
        return record.first_record.is_set()

    # -- from the backend
    def apply(self, update: dict) -> None:
        """An update from the trainer of this run (ignored if for another attempt)."""
        with self._lock:
            record = self.record
            if update.get("attempt") != record.attempt:
                return
            if self._frozen:
                # stopped here: what the trainer did before it heard is not shown (the charts
                # freeze at the click); only its nets' final statuses are taken
                update = {"nets": {n: {"status": u["status"]} for n, u in
                                   update.get("nets", {}).items() if "status" in u}}
            acked = update.get("acks", {}).get(ORIGIN, 0)
            if acked < self._status_seq and "status" in update:
                # the trainer has not seen our last command yet: keep what it set, unless the
                # run has ended by itself
                if update["status"] not in ("finished", "failed"):
                    update = {k: v for k, v in update.items() if k not in ("status", "message")}
            was_alive = self.alive
            record.apply(update)
            if not self.alive:
                self._done.set()
        if was_alive and record.status in ("finished", "failed"):
            log.info("run %s: %s at step %d", self.key[:60], record.status, record.step)

    def adopt(self, record: RunRecord) -> None:
        """Take a record made elsewhere as this run's (a Ray actor's: the truth for every
        server showing the run)."""
        with self._lock:
            if record.attempt != self.record.attempt and self.record.nets:
                self.previous = self.record
            record.capacity = self.capacity
            self.record = record
            self._frozen = False
            if record.status in LIVE_STATUSES:
                self._done.clear()
            else:
                self._done.set()

    def set_queue(self, position: int | None, wait: float | None) -> None:
        self.queue_position, self.queue_wait = position, wait

    def fail(self, message: str) -> None:
        """The backend lost this run's trainer (a worker crashed, a node went away)."""
        with self._lock:
            if not self.alive:
                return
            for rec in self.record.nets.values():
                if rec.status == "training":
                    rec.apply({"status": "failed"})
            self.record.status, self.record.message = "failed", message
            self._done.set()

    # -- viewers
    def touch(self, viewer: str = "anonymous") -> None:
        """A viewer looked at the run (pages call this at each refresh)."""
        now = time.monotonic()
        self.last_seen = now
        self._viewers[viewer] = now
        self.had_viewers = True

    def release(self, viewer: str) -> None:
        self._viewers.pop(viewer, None)

    viewer_alive = None  # set by the web layer: whether a viewer's session is still connected

    def viewer_ids(self, within: float = VIEWER_TIMEOUT) -> list[str]:
        now = time.monotonic()
        alive = Run.viewer_alive
        for v, t in list(self._viewers.items()):
            if now - t > 6 * within or (alive is not None and not alive(v)):
                self._viewers.pop(v, None)  # pruned: gone (closed the tab) or long gone
        return [v for v, t in list(self._viewers.items()) if now - t <= within]

    @property
    def viewers(self) -> int:
        return len(self.viewer_ids())

    # -- reading
    def snapshot(self) -> RunSnapshot:
        previous = self.previous
        prev = snapshot_of(self.config, previous) if previous is not None else None
        return snapshot_of(self.config, self.record, key=self.key, viewers=self.viewers,
                           queue_position=self.queue_position if self.status == "queued" else None,
                           queue_wait=self.queue_wait if self.status == "queued" else None,
                           paused_by=self.paused_by if self.status == "paused" else "",
                           previous=prev)

    @property
    def nbytes(self) -> int:
        return self.record.nbytes + (self.previous.nbytes if self.previous else 0)


def grid_at(view, step: int) -> np.ndarray | None:
    """The decision grid a net had at the recorded step nearest `step` (time scrubber)."""
    cp = view.checkpoints
    if not len(cp.get("step", ())):
        return view.latest.get("grid")
    i = int(np.argmin(np.abs(cp["step"] - step)))
    return cp["grid"][i]
