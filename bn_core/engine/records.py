"""What a run has recorded, kept where the pages read it: one `RunRecord` per attempt of a run.

Trainers (in a worker process, a Ray actor or a thread) send *updates*: the rows each net
recorded since the last update, its latest full vectors and its status. A `RunRecord` applies
them to bounded `History` columns, so every backend gives the pages the same `RunSnapshot`.
Rows are offered to the histories one by one in the order they were recorded, so a record
decimates exactly as the trainer's own would.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from bn_core.config import NET_LABELS, RunConfig
from bn_core.engine.history import DEFAULT_CAPACITY, History
from bn_core.i18n import N_, _

LIVE_STATUSES = ("queued", "loading", "running", "paused")
ENDED_STATUSES = ("finished", "stopped", "failed")  # a run that trains no more
# A net's status as a page shows it (translated where shown: `NetView.status_shown`); the
# English `status_text` stays as it is for exports and the reproduction report.
NET_STATUS_WORDS = {"training": N_("training"), "finished": N_("finished"),
                    "diverged": N_("diverged"), "stopped": N_("stopped"), "failed": N_("failed")}
PARTS = ("probes", "evals", "ics")


@dataclass(frozen=True)
class NetView:
    """What one net has recorded so far; arrays are read-only views."""

    name: str
    label: str
    status: str                 # training | finished | diverged | stopped | failed
    step: int
    diverged_at: int | None
    probes: dict                # step, loss, per-layer series (see Trainer.probe)
    evals: dict                 # step, {train,heldout,test}_{acc,loss}
    ics: dict                   # step, dist (n, L+1), cos (n, L+1), landscape columns
    latest: dict                # full per-layer vectors of the last probe, decision grid
    initial_grid: np.ndarray | None
    checkpoints: dict = field(default_factory=dict)  # step, params (flat), grid: for replays

    @property
    def status_text(self) -> str:
        if self.status == "diverged":
            return f"diverged at step {self.diverged_at}"
        return self.status

    @property
    def status_shown(self) -> str:
        """`status_text` in the current language (computed where it is shown: the language
        is the viewing session's, never the trainer's)."""
        if self.status == "diverged":
            return _("diverged at step {step}").format(step=self.diverged_at)
        return _(NET_STATUS_WORDS.get(self.status, self.status))


@dataclass(frozen=True)
class RunSnapshot:
    """A consistent, immutable view of a run for pages and exports."""

    key: str
    config: RunConfig
    status: str                 # ready | queued | loading | running | paused | finished | stopped | failed
    message: str
    step: int
    total_steps: int
    steps_per_sec: float
    elapsed: float
    nets: dict                  # name -> NetView
    edges: np.ndarray | None
    bn_edges: np.ndarray | None
    viewport: tuple | None
    data: object | None         # the run's Dataset (loaded in this process when first needed)
    viewers: int
    queue_position: int | None = None
    queue_wait: float | None = None    # estimated seconds until a queued run starts
    attempt: int = 0
    pace: float = 0.0
    paused_by: str = ""          # "" | "viewer" | "idle": why a paused run is paused
    previous: "RunSnapshot | None" = None  # the attempt before the last restart, for export

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class NetRecord:
    """One net's bounded histories and latest vectors, fed by updates."""

    def __init__(self, name: str, capacity: int, checkpoint_capacity: int):
        self.name = name
        self.parts = {part: History(capacity) for part in PARTS}
        self.checkpoints = History(checkpoint_capacity)
        self.status, self.step, self.diverged_at = "training", 0, None
        self.latest: dict = {}
        self.initial_grid = None
        self.view = self._view()

    def apply(self, update: dict) -> None:
        for part, rows in update.get("rows", {}).items():
            hist = self.parts[part]
            for step, row in rows:
                hist.append(step, **row)
        for step, row in update.get("checkpoints", ()):
            self.checkpoints.append(step, **row)
        if update.get("latest") is not None:
            self.latest = update["latest"]
        if update.get("initial_grid") is not None:
            self.initial_grid = update["initial_grid"]
        self.status = update.get("status", self.status)
        self.step = update.get("step", self.step)
        self.diverged_at = update.get("diverged_at", self.diverged_at)
        self.view = self._view()

    def _view(self) -> NetView:
        return NetView(name=self.name, label=NET_LABELS.get(self.name, self.name),
                       status=self.status, step=self.step, diverged_at=self.diverged_at,
                       probes=self.parts["probes"].view(), evals=self.parts["evals"].view(),
                       ics=self.parts["ics"].view(), latest=self.latest,
                       initial_grid=self.initial_grid, checkpoints=self.checkpoints.view())

    @property
    def nbytes(self) -> int:
        return sum(h.nbytes for h in self.parts.values()) + self.checkpoints.nbytes

    def state(self) -> dict:
        """Everything needed to rebuild this record elsewhere (a server joining a Ray run)."""
        return {"name": self.name, "status": self.status, "step": self.step,
                "diverged_at": self.diverged_at, "latest": self.latest,
                "initial_grid": self.initial_grid,
                "parts": {p: h.state() for p, h in self.parts.items()},
                "checkpoints": self.checkpoints.state()}

    @classmethod
    def from_state(cls, state: dict) -> "NetRecord":
        rec = cls.__new__(cls)
        rec.name = state["name"]
        rec.parts = {p: History.from_state(s) for p, s in state["parts"].items()}
        rec.checkpoints = History.from_state(state["checkpoints"])
        rec.status, rec.step = state["status"], state["step"]
        rec.diverged_at, rec.latest = state["diverged_at"], state["latest"]
        rec.initial_grid = state["initial_grid"]
        rec.view = rec._view()
        return rec


CHECKPOINT_CAPACITY = 64


class RunRecord:
    """One attempt of a run: its nets' records and the run's status, as its trainer reports.

    `apply` is called by one thread (a backend's receiver); `snapshot` from any thread: it only
    reads references that `apply` replaces whole."""

    def __init__(self, attempt: int, capacity: int = DEFAULT_CAPACITY,
                 checkpoint_capacity: int = CHECKPOINT_CAPACITY):
        self.attempt, self.capacity = attempt, capacity
        self.checkpoint_capacity = checkpoint_capacity
        self.nets: dict[str, NetRecord] = {}
        self.status, self.message = "ready", ""
        self.step = 0
        self.elapsed = 0.0
        self.steps_per_sec = 0.0
        self.pace = 0.0
        self.first_record = threading.Event()
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def apply(self, update: dict) -> None:
        """Apply one update from the trainer (see the module docstring)."""
        with self.lock:
            nets = dict(self.nets)
            for name, net_update in update.get("nets", {}).items():
                rec = nets.get(name)
                if rec is None:
                    rec = NetRecord(name, self.capacity, self.checkpoint_capacity)
                rec.apply(net_update)
                nets[name] = rec
            self.nets = nets
            for name in ("status", "message", "step", "elapsed", "steps_per_sec", "pace"):
                if name in update:
                    setattr(self, name, update[name])
            self.updated = time.monotonic()
            if nets and all(len(r.parts["probes"]) for r in nets.values()):
                self.first_record.set()

    def net_views(self) -> dict[str, NetView]:
        return {name: rec.view for name, rec in self.nets.items()}

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.nets.values())

    def state(self) -> dict:
        with self.lock:
            return {"attempt": self.attempt, "capacity": self.capacity,
                    "checkpoint_capacity": self.checkpoint_capacity,
                    "status": self.status, "message": self.message, "step": self.step,
                    "elapsed": self.elapsed, "steps_per_sec": self.steps_per_sec,
                    "pace": self.pace, "nets": [r.state() for r in self.nets.values()]}

    @classmethod
    def from_state(cls, state: dict) -> "RunRecord":
        rec = cls(state["attempt"], state["capacity"], state["checkpoint_capacity"])
        rec.nets = {s["name"]: NetRecord.from_state(s) for s in state["nets"]}
        for name in ("status", "message", "step", "elapsed", "steps_per_sec", "pace"):
            setattr(rec, name, state[name])
        if rec.nets and all(len(r.parts["probes"]) for r in rec.nets.values()):
            rec.first_record.set()
        return rec


def _cut(series: dict, step: int) -> dict:
    """The rows of a recorded series up to and including `step`."""
    steps = series.get("step")
    if steps is None or not len(steps):
        return series
    n = int(np.searchsorted(steps, step, side="right"))
    return {name: col[:n] for name, col in series.items()}


def view_at(view: NetView, step: int) -> NetView:
    """A net's view as it was at the recorded step nearest below `step` (the time scrubber):
    every series cut there; the latest histograms from that probe row; the decision grid from
    the nearest recorded checkpoint. Per-unit BN vectors are only kept for the newest probe,
    so they are left out of a past view."""
    probes = _cut(view.probes, step)
    latest: dict = {}
    if len(probes.get("step", ())):
        i = len(probes["step"]) - 1
        latest = {name: probes[name][i] for name in ("hist", "bn_hist") if name in probes}
        latest["step"] = int(probes["step"][i])
    cps = _cut(view.checkpoints, step)
    if len(cps.get("step", ())):
        latest["grid"] = cps["grid"][-1]
    elif "grid" in view.latest and not len(view.checkpoints.get("step", ())):
        latest["grid"] = view.latest["grid"]
    shown = int(latest.get("step", min(step, view.step)))
    status = view.status if shown >= view.step else "training"
    return NetView(name=view.name, label=view.label, status=status, step=shown,
                   diverged_at=view.diverged_at if status == "diverged" else None,
                   probes=probes, evals=_cut(view.evals, step), ics=_cut(view.ics, step),
                   latest=latest, initial_grid=view.initial_grid, checkpoints=cps)


def snapshot_at(snap: RunSnapshot, step: int | None) -> RunSnapshot:
    """The snapshot as it was at `step` (None or a step at or past the end: as it is)."""
    if step is None or step >= snap.step:
        return snap
    nets = {name: view_at(v, step) for name, v in snap.nets.items()}
    from dataclasses import replace

    return replace(snap, nets=nets, step=int(min(step, snap.step)))


def recorded_steps(snap: RunSnapshot) -> list[int]:
    """The steps a scrubber can show: those every net has a probe row for."""
    sets = [set(v.probes.get("step", np.array([], np.int64)).tolist()) for v in snap.nets.values()]
    if not sets:
        return []
    return sorted(set.intersection(*sets))
