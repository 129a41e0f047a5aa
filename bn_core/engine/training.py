"""Training a run's nets side by side on identical batches, with probes recorded.

A `TrainingJob` steps all of a run's nets in lockstep: every step, each net takes one SGD step
on the same batch (one deterministic schedule per seed), so what is recorded for each net refers
to the same step. A job is advanced in slices by a host (bn_core/engine/host.py), which is what
lets one process train many runs; it hands its new records out as updates (`drain`) that a
`RunRecord` (bn_core/engine/records.py) applies where the pages read them.
A net whose loss or weights stop being finite stops as "diverged at step N"; its twins go on.
Where the nets allow it (`bn_core.nets.fused.can_fuse`: plain and BN MLPs, no noise or dropout)
a step is the hand-written `FusedTwinStep`, which gives autograd's records up to float32
rounding at a fraction of its overhead; `BNLAB_FUSED=0` (or `fused=False`) keeps autograd.
"""
from __future__ import annotations

import logging
import math
import os
import time
import traceback
from dataclasses import dataclass

import numpy as np
import torch

from bn_core.nets import probes
from bn_core.nets.batched import batch_signature
from bn_core.nets.fused import FusedTwinStep, fuse_refusal
from bn_core.config import BN_NETS, RunConfig
from bn_core.data.datasets import Dataset, batch_order
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.records import (  # noqa: F401 (NetView, RunSnapshot: re-exported)
    ENDED_STATUSES, NetView, RunRecord, RunSnapshot)
from bn_core.engine.run_data import (  # noqa: F401 (re-exported: the trainers' names too)
    DEEP_LINEAR_DIM, MNIST_TRAIN_SIZES, _cached_dataset, bn_input_edges, check_config, data_key,
    deep_linear_dataset, load_data, training_set_size)
from bn_core.nets.models import MLP, build_twins, flat_parameters

log = logging.getLogger("bn_core")

TRAIN_EVAL_SIZE = 500       # training examples used for the training-accuracy estimate
MAX_FOREGROUND_CAPACITY = 8192  # rows per history for train_to_end
MAX_CHECKPOINT_PARAMS = 6_000  # nets up to this size record their parameters
STEP_COST_STEPS = 200  # the step cost is a mean over about this many recent steps
TRAIN_MODE_EVAL_MAX_BATCH = 16  # below this, BN nets are also scored in training mode


class BatchSchedule:
    """The deterministic batch sequence of a run: epoch orders from `batch_order`."""

    def __init__(self, y: np.ndarray, batch_size: int, shuffle: float, seed: int):
        labels = y if y.ndim == 1 else np.zeros(len(y), np.int64)
        self.labels, self.batch_size, self.shuffle, self.seed = labels, batch_size, shuffle, seed
        self.per_epoch = len(labels) // batch_size
        self._epoch, self._order = -1, None

    def indices(self, step: int) -> torch.Tensor:
        """Indices of the batch used at update `step` (0-based)."""
        epoch, b = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            order = batch_order(self.labels, self.shuffle, self.seed, epoch)
            self._order = torch.from_numpy(np.ascontiguousarray(order, dtype=np.int64))
            self._epoch = epoch
        return self._order[b * self.batch_size:(b + 1) * self.batch_size]


@dataclass(frozen=True)
class TrainingSetup:
    """Tensors shared read-only by a run's trainers."""

    data: Dataset
    x_train: torch.Tensor
    y_train: torch.Tensor
    eval_sets: dict  # name -> (x, y) tensors: train (subset), heldout, test
    x_probe: torch.Tensor
    grid: torch.Tensor | None
    viewport: tuple | None
    edges: np.ndarray
    bn_edges: np.ndarray
    n_outputs: int


def prepare(config: RunConfig) -> TrainingSetup:
    """Load the data and build the tensors every trainer of the run reads."""
    check_config(config)
    data = load_data(config)
    if config.batch_size > len(data.x_train):
        raise ValueError(f"batch_size: got {config.batch_size}; allowed: between 1 and "
                         f"{len(data.x_train)} (the training set size)")
    as_target = (lambda y: torch.from_numpy(np.asarray(y, np.float32))) if config.is_regression \
        else (lambda y: torch.from_numpy(np.asarray(y, np.int64)))
    x_train = torch.from_numpy(data.model_input(data.x_train))
    y_train = as_target(data.y_train)
    rng = np.random.default_rng([config.seed, 5])
    sub = np.sort(rng.permutation(len(x_train))[:TRAIN_EVAL_SIZE])
    held = slice(0, config.heldout_size)
    eval_sets = {
        "train": (x_train[sub], y_train[sub]),
        "heldout": (torch.from_numpy(data.model_input(data.x_heldout[held])),
                    as_target(data.y_heldout[held])),
    }
    if data.x_test is not data.x_heldout:  # image sets have no shifted test set of their own
        eval_sets["test"] = (torch.from_numpy(data.model_input(data.x_test[held])),
                             as_target(data.y_test[held]))
    grid = viewport = None
    if config.is_toy and config.grid_resolution > 0:
        viewport = data.viewport()
        _, _, pts = data.grid_points(config.grid_resolution)
        grid = torch.from_numpy(data.model_input(pts))
    return TrainingSetup(data=data, x_train=x_train, y_train=y_train, eval_sets=eval_sets,
                         x_probe=eval_sets["heldout"][0], grid=grid, viewport=viewport,
                         edges=probes.histogram_edges(config.activation),
                         bn_edges=bn_input_edges(config.activation, config.placement),
                         n_outputs=y_train.shape[1] if config.is_regression else data.n_classes)


def bn_histograms(trace: list, edges: np.ndarray) -> np.ndarray:
    """Per layer, the histogram of what its norm layer took in (zeros for a layer without
    one), as a (layers, bins) int32 array."""
    bins = len(edges) - 1
    inputs = [t.get("bn_in") for t in trace]
    if all(x is None for x in inputs):
        return np.zeros((len(trace), bins), np.int32)
    if all(x is not None for x in inputs) and len({tuple(x.shape) for x in inputs}) == 1:
        flat = torch.stack(inputs).reshape(len(inputs), -1)
        return probes.histogram_counts_by_row(flat.detach().numpy(), edges)
    return np.stack([probes.histogram_counts(x, edges) if x is not None
                     else np.zeros(bins, np.int32) for x in inputs])


# ---------------------------------------------------------------------------- trainers

class SGD:
    """Plain SGD with optional momentum, as torch.optim.SGD (dampening 0, no Nesterov), done
    with torch's foreach kernels on gradients the run computes for all its nets at once."""

    def __init__(self, params: list[torch.Tensor], lr: float, momentum: float = 0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.buffers = [torch.zeros_like(p) for p in params] if momentum else None

    @torch.no_grad()
    def step(self, grads) -> None:
        if self.buffers is None:
            torch._foreach_add_(self.params, grads, alpha=-self.lr)
        else:
            torch._foreach_mul_(self.buffers, self.momentum)
            torch._foreach_add_(self.buffers, grads)
            torch._foreach_add_(self.params, self.buffers, alpha=-self.lr)


class Trainer:
    """One net of a run: its optimiser and probes; its new records wait in `pending`."""

    def __init__(self, name: str, net: MLP, setup: TrainingSetup, config: RunConfig):
        self.name, self.net, self.setup, self.config = name, net, setup, config
        self.params = [p for p in net.parameters() if p.requires_grad]
        # where each weight matrix (bottom to top) sits among the trained parameters
        self._weight_at = [next(i for i, p in enumerate(self.params) if p is w)
                           for w in net.weight_tensors()]
        self.last_grads: tuple | None = None  # this step's gradients, set at probe steps
        self.optimizer = SGD(self.params, config.effective_lr, config.momentum)
        self.status, self.step, self.diverged_at = "training", 0, None
        self.latest: dict | None = None
        self.initial_grid = None
        self._grid_sent = False
        self.rows: dict[str, list] = {"probes": [], "evals": [], "ics": []}
        self.checkpoints: list = []
        self._loss_sum, self._loss_n = 0.0, 0
        self.changed = True

    @property
    def active(self) -> bool:
        return self.status == "training"

    def loss(self, xb: torch.Tensor, yb: torch.Tensor, trace: list | None) -> torch.Tensor:
        return probes.loss_of(self.net(xb, trace), yb, self.config.is_regression)

    def after_step(self, step: int, loss: float) -> None:
        self.step = step
        self._loss_sum += loss
        self._loss_n += 1

    def weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.params)

    def diverge(self, step: int) -> None:
        self.status, self.diverged_at, self.step = "diverged", step, step
        log.info("net %s diverged at step %d", self.name, step)
        self.changed = True

    # -- probes
    def probe(self, step: int, train_trace: list | None) -> None:
        cfg, setup, net = self.config, self.setup, self.net
        trace: list = []
        dropout, net.dropout = net.dropout, 0.0
        with probes.restoring(net), torch.no_grad():
            net(setup.x_probe, trace)  # training mode: BN uses the probe set's batch statistics
        net.dropout = dropout
        loss = self._loss_sum / self._loss_n if self._loss_n else math.nan
        self._loss_sum, self._loss_n = 0.0, 0
        u = cfg.probe_unit
        row = {
            "loss": loss,
            "grad_norm": self._gradient_norms(),
            "bn_hist": bn_histograms(trace, setup.bn_edges),
        }
        row.update(probes.layer_summaries([t["pre"] for t in trace], cfg.probe_unit,
                                          cfg.percentiles, setup.edges, cfg.activation))
        latest = {"hist": row["hist"], "bn_hist": row["bn_hist"], "step": step}
        channel_row, channel_latest = probes.channel_records(trace)  # convolutional nets
        row.update(channel_row)
        latest.update(channel_latest)
        if net.norms is not None:
            batch_stats = ([(t["bn_in"].mean(0), t["bn_in"].var(0, unbiased=False))
                            for t in train_trace] if train_trace
                           else [(None, None)] * len(net.norms))
            layers = []
            for i, norm in enumerate(net.norms):
                bm, bv = batch_stats[i]
                layers.append({
                    "batch_mean": None if bm is None else bm.detach().numpy().copy(),
                    "batch_var": None if bv is None else bv.detach().numpy().copy(),
                    "running_mean": norm.running_mean.numpy().copy(),
                    "running_var": norm.running_var.numpy().copy(),
                    "gamma": norm.weight.detach().numpy().copy(),
                    "beta": norm.bias.detach().numpy().copy(),
                })
            latest["bn"] = layers
            nan = math.nan
            row["bn_batch_mean"] = np.array([nan if l["batch_mean"] is None else l["batch_mean"][u]
                                             for l in layers], np.float32)
            row["bn_batch_var"] = np.array([nan if l["batch_var"] is None else l["batch_var"][u]
                                            for l in layers], np.float32)
            for name in ("running_mean", "running_var", "gamma", "beta"):
                row[name] = np.array([l[name][u] for l in layers], np.float32)
            row["gamma_mean_abs"] = np.array([np.abs(l["gamma"]).mean() for l in layers], np.float32)
            row["beta_mean"] = np.array([l["beta"].mean() for l in layers], np.float32)
        if setup.grid is not None:
            grid = probes.decision_grid(net, setup.grid, cfg.grid_resolution)
            latest["grid"] = grid
            if self.initial_grid is None:
                self.initial_grid = grid
        self.latest = latest
        self.rows["probes"].append((step, row))
        if setup.grid is not None and self.params_small:
            self.checkpoints.append((step, {"params": self.flat_params(),
                                            "grid": latest["grid"]}))
        self.changed = True

    def _gradient_norms(self) -> np.ndarray:
        """L2 norm of this step's gradient of each weight matrix (nan before the first step)."""
        grads, self.last_grads = self.last_grads, None
        return probes.gradient_norms([None if grads is None else grads[i]
                                      for i in self._weight_at])

    def evaluate(self, step: int) -> None:
        net, regression = self.net, self.config.is_regression
        row = {}
        net.eval()
        with torch.no_grad():
            for name, (x, y) in self.setup.eval_sets.items():
                logits = net(x)
                row[f"{name}_loss"] = float(probes.loss_of(logits, y, regression))
                row[f"{name}_acc"] = math.nan if regression else probes.accuracy(logits, y)
        net.train()
        if (self.name in BN_NETS and not regression
                and self.config.batch_size <= TRAIN_MODE_EVAL_MAX_BATCH):
            x, y = self.setup.eval_sets["heldout"]  # BN's train/eval gap at tiny batches
            row["heldout_acc_train_mode"] = probes.train_mode_accuracy(
                net, x, y, self.config.batch_size, self.config.seed)
        if "test" not in self.setup.eval_sets:
            row["test_loss"], row["test_acc"] = row["heldout_loss"], row["heldout_acc"]
        self.rows["evals"].append((step, row))
        self.changed = True

    def measure_ics(self, step: int, xb, yb) -> None:
        cfg = self.config
        dist, cos = probes.internal_covariate_shift(self.net, xb, yb, cfg.effective_lr,
                                                    cfg.is_regression)
        scape = probes.loss_landscape(self.net, xb, yb,
                                      [s * cfg.effective_lr for s in probes.LANDSCAPE_STEP_SIZES],
                                      cfg.is_regression)
        self.rows["ics"].append((step, dict(dist=dist, cos=cos, **scape)))
        self.changed = True

    # -- recorded parameters (toy nets only: the time scrubber and re-scoring use them)
    @property
    def params_small(self) -> bool:
        return sum(p.numel() for p in self.net.parameters()) <= MAX_CHECKPOINT_PARAMS

    def flat_params(self) -> np.ndarray:
        return flat_parameters(self.net)

    def drain(self) -> dict | None:
        """This net's records since the last drain, as an update for its NetRecord."""
        if not self.changed:
            return None
        update = {"status": self.status, "step": self.step, "diverged_at": self.diverged_at,
                  "rows": {k: v for k, v in self.rows.items() if v}}
        if self.checkpoints:
            update["checkpoints"] = self.checkpoints
        if self.latest is not None:
            update["latest"], self.latest = self.latest, None
        if self.initial_grid is not None and not self._grid_sent:
            update["initial_grid"], self._grid_sent = self.initial_grid, True
        self.rows = {"probes": [], "evals": [], "ics": []}
        self.checkpoints = []
        self.changed = False
        return update


# ---------------------------------------------------------------------------- jobs

FUSED_ENV = "BNLAB_FUSED"  # "0": every run steps with autograd (benchmarks, comparisons)


def fused_by_default() -> bool:
    """Whether runs use the fused step where they can: yes unless BNLAB_FUSED is 0/no/off
    (read when a job is made, so a child process started with it set follows it too)."""
    return os.environ.get(FUSED_ENV, "1").strip().lower() not in ("0", "no", "off", "false")


class TrainingJob:
    """One attempt of a run: its nets trained in lockstep, advanced a slice at a time.

    A host calls `load()` once, then `advance(n)` as its scheduler decides, and `drain()` to
    collect the records made since the last drain. Status: loading, running, paused, finished,
    stopped or failed (with `message`)."""

    def __init__(self, config: RunConfig, attempt: int = 1, fused: bool | None = None):
        self.config, self.attempt = config, attempt
        # fused step where the nets allow it (None: as BNLAB_FUSED says, default yes)
        self.use_fused = fused_by_default() if fused is None else bool(fused)
        self.fused: FusedTwinStep | None = None  # the step of the nets in `_fused_for`
        self._fused_for: tuple = ()
        self.fuse_refusal: str | None = None  # why this run steps with autograd, if it does
        self.fused_steps = 0  # steps taken with the fused step
        self.batched_steps = 0  # steps taken in a batch with other runs (the host's)
        self._batch_key, self._batch_key_for = None, None
        self.status, self.message = "loading", ""
        self.step = 0
        self.pace = config.pace
        self.trainers: dict[str, Trainer] = {}
        self.active: list[Trainer] = []
        self.setup: TrainingSetup | None = None
        self.schedule: BatchSchedule | None = None
        self.cpu_seconds = 0.0       # thread CPU time spent on this job
        self.step_cost = None        # CPU seconds per step, running estimate
        self._cost_cpu = self._cost_steps = 0.0
        self.active_seconds = 0.0    # wall time spent running (not paused)
        self._rate_mark = (time.monotonic(), 0)
        self.steps_per_sec = 0.0
        self.pace_anchor: tuple[float, int] | None = None  # (time, step) the pace counts from
        self.changed = True

    # -- lifecycle
    def load(self) -> None:
        """Load the data, build the nets, record step 0 (raises on bad data or settings)."""
        torch.set_num_threads(1)
        started = time.thread_time()
        setup = prepare(self.config)
        nets = build_twins(self.config, setup.x_train.shape[1], setup.n_outputs)
        trainers = {name: Trainer(name, net, setup, self.config) for name, net in nets.items()}
        for t in trainers.values():
            t.probe(0, None)
            t.evaluate(0)
        self.setup, self.trainers, self.active = setup, trainers, list(trainers.values())
        self.schedule = BatchSchedule(setup.data.y_train, self.config.batch_size,
                                      self.config.shuffle, self.config.seed)
        self.cpu_seconds += time.thread_time() - started
        self.status = "running"
        self.changed = True

    def fail(self, exc: BaseException) -> None:
        log.error("run failed (%s):\n%s", self.config.dataset,
                  "".join(traceback.format_exception(exc)))
        for t in self.trainers.values():
            if t.active:
                t.status = "failed"
                t.changed = True
        self.status, self.message = "failed", f"{type(exc).__name__}: {exc}"
        self.changed = True
        self.release()

    def stop(self, reason: str = "stopped") -> None:
        if self.status in ENDED_STATUSES:
            return
        for t in self.trainers.values():
            if t.active:
                t.status = "stopped"
                t.changed = True
        self.status, self.message = "stopped", reason
        self.changed = True
        self.release()

    def release(self) -> None:
        """Free the nets and tensors (records already drained or pending stay)."""
        for t in self.trainers.values():
            t.net = None
            t.params = []
            t.optimizer = None
        self.active = []
        self.setup = None
        self.fused, self._fused_for = None, ()

    @property
    def done(self) -> bool:
        return self.status in ENDED_STATUSES

    @property
    def remaining(self) -> int:
        return max(0, self.config.steps - self.step)

    # -- pacing
    def due_steps(self, now: float) -> int:
        """How many steps a paced job is behind its pace (all remaining if unpaced)."""
        if not self.pace:
            return self.remaining
        if self.pace_anchor is None:
            self.pace_anchor = (now, self.step)
        t0, s0 = self.pace_anchor
        return max(0, min(self.remaining, int((now - t0) * self.pace) + s0 - self.step))

    def next_due(self, now: float) -> float:
        """When a paced job owes its next step."""
        if not self.pace or self.pace_anchor is None:
            return now
        t0, s0 = self.pace_anchor
        return t0 + (self.step + 1 - s0) / self.pace

    def set_pace(self, pace: float) -> None:
        self.pace = float(pace)
        self.pace_anchor = None
        self.changed = True

    # -- training
    def advance(self, max_steps: int, deadline: float | None = None) -> int:
        """Train up to `max_steps` lockstep steps (stopping early at `deadline`, a
        time.monotonic() value); returns how many were taken."""
        if self.status != "running" or max_steps <= 0:
            return 0
        wall0, cpu0 = time.monotonic(), time.thread_time()
        done = 0
        try:
            while done < max_steps and self.step < self.config.steps and self.active:
                self._one_step(self.step + 1)
                done += 1
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except Exception as exc:  # reported on the page and in the log; other runs go on
            self.fail(exc)
            return done
        finally:
            self.account(time.thread_time() - cpu0, time.monotonic() - wall0, done)
        self._end_if_done()
        return done

    def account(self, cpu: float, wall: float, steps: int) -> None:
        """Count CPU and wall seconds spent on `steps` steps (the scheduler's step cost)."""
        self.cpu_seconds += cpu
        self.active_seconds += wall
        if steps:
            # the mean over about the last STEP_COST_STEPS steps, weighted by steps: a probe
            # step costs ~50x a batched plain step, and a mean over a few samples (slices)
            # saw mostly the cheap ones, so the scheduler took on runs it had no room for
            keep = math.exp(-steps / STEP_COST_STEPS)
            self._cost_cpu = self._cost_cpu * keep + cpu
            self._cost_steps = self._cost_steps * keep + steps
            self.step_cost = self._cost_cpu / self._cost_steps

    def _end_if_done(self) -> None:
        if self.status == "running" and (self.step >= self.config.steps or not self.active):
            for t in self.trainers.values():
                if t.active:
                    t.status = "finished"
                    t.changed = True
            self.status = "finished"
            self.changed = True
            self.release()

    # -- stepping with other runs (bn_core/nets/batched.py; the host groups the runs)
    def batch_key(self) -> tuple | None:
        """What another run must share to take its steps in one batched step with this one
        (None: this run steps alone): its nets' kinds and architectures, the batch size."""
        if self.status != "running" or not self.active or self._fused_step(self.active) is None:
            return None
        ids = tuple(id(t) for t in self.active)
        if self._batch_key_for != ids:
            sigs = tuple(batch_signature(self.config, t.net) for t in self.active)
            self._batch_key = None if any(s is None for s in sigs) else \
                (tuple(t.name for t in self.active), sigs)
            self._batch_key_for = ids
        return self._batch_key

    def plain_next_step(self) -> bool:
        """Whether the next step records nothing (no probe, evaluation or ICS measurement):
        such a step may be taken in a batch with other runs."""
        cfg, step = self.config, self.step + 1
        return (step < cfg.steps and step % cfg.probe_every != 0 and step % cfg.eval_every != 0
                and not (cfg.ics_every and step % cfg.ics_every == 0))

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next step's batch (inputs, targets)."""
        idx = self.schedule.indices(self.step)
        return self.setup.x_train.index_select(0, idx), self.setup.y_train.index_select(0, idx)

    def took_batched_step(self, values: list[float]) -> None:
        """The next step was taken in a batch: `values` are the losses of `self.active`'s nets
        before it. As `_one_step` on a step that records nothing."""
        step = self.step + 1
        self.step = step
        active = self.active
        keep = self._drop_diverged(step, values)
        if keep is not None:
            values = [values[i] for i in keep]
            active = self.active = [active[i] for i in keep]
        for t, value in zip(active, values):
            t.after_step(step, value)
            t.changed = True
        self.batched_steps += 1
        self._end_if_done()

    def _drop_diverged(self, step: int, values: list[float]) -> list[int] | None:
        """Mark the active nets whose loss (`values`, in `self.active`'s order) is not finite
        as diverged at `step`; the indices of the others, or None if every loss is finite."""
        finite = [math.isfinite(v) for v in values]
        if all(finite):
            return None
        for t, ok in zip(self.active, finite):
            if not ok:
                t.diverge(step)
        return [i for i, ok in enumerate(finite) if ok]

    def _fused_step(self, active: list) -> FusedTwinStep | None:
        """The fused step of these trainers' nets (rebuilt when a net drops out), or None when
        fusion is off or the nets need autograd (the reason is kept in `fuse_refusal`)."""
        if not self.use_fused:
            return None
        key = tuple(id(t) for t in active)
        if key != self._fused_for:
            nets = [t.net for t in active]
            self.fuse_refusal = fuse_refusal(self.config, nets)
            self.fused = None if self.fuse_refusal else \
                FusedTwinStep(nets, [t.optimizer for t in active], self.config)
            self._fused_for = key
        return self.fused

    def _one_step(self, step: int) -> None:
        cfg = self.config
        active = self.active
        xb, yb = self.next_batch()  # self.step is step - 1 here
        probe_now = step % cfg.probe_every == 0 or step == cfg.steps
        eval_now = step % cfg.eval_every == 0 or step == cfg.steps
        if cfg.ics_every and step % cfg.ics_every == 0:
            for t in active:
                t.measure_ics(step, xb, yb)
        traces = [[] if probe_now else None for _ in active]
        fused = self._fused_step(active)
        if fused is not None:
            # forward, backward and SGD of every net; a net whose loss is not finite is left
            # as it is (as below), its gradients None
            values, grads = fused.step(xb, yb, want_grads=probe_now,
                                       traces=traces if probe_now else None)
            per_net = grads if probe_now else [None] * len(active)
            self.fused_steps += 1
        else:
            losses = [t.loss(xb, yb, trace) for t, trace in zip(active, traces)]
            values = torch.stack([l.detach() for l in losses]).tolist()
        self.step = step
        keep = self._drop_diverged(step, values)
        if keep is not None:
            active, traces, values = ([active[i] for i in keep], [traces[i] for i in keep],
                                      [values[i] for i in keep])
            if fused is not None:
                per_net = [per_net[i] for i in keep]
            else:
                losses = [losses[i] for i in keep]
            self.active = active
            if not active:
                return
        if fused is None:
            grads = torch.autograd.grad(sum(losses), [p for t in active for p in t.params])
            per_net, offset = [], 0
            for t in active:
                n = len(t.params)
                per_net.append(grads[offset:offset + n])
                t.optimizer.step(per_net[-1])
                offset += n
        for t, value, g in zip(active, values, per_net):
            if probe_now:
                t.last_grads = g
            t.after_step(step, value)
        if probe_now or eval_now:
            for t, trace in zip(active, traces):
                if not t.weights_finite():
                    t.diverge(step)
                    continue
                if probe_now:
                    t.probe(step, trace)
                if eval_now:
                    t.evaluate(step)
            self.active = [t for t in active if t.active]
        for t in self.active:
            t.changed = True  # its step moved on

    # -- output
    def drain(self, final: bool = False) -> dict | None:
        """The records and status changes since the last drain (None if nothing changed)."""
        nets = {}
        for name, t in self.trainers.items():
            u = t.drain()
            if u is not None:
                nets[name] = u
        if not nets and not self.changed:
            return None
        now = time.monotonic()
        t0, s0 = self._rate_mark
        if now - t0 >= 0.5 or self.done:
            self.steps_per_sec = (self.step - s0) / (now - t0) if now > t0 else 0.0
            self._rate_mark = (now, self.step)
        self.changed = False
        return {"attempt": self.attempt, "nets": nets, "status": self.status,
                "message": self.message, "step": self.step, "elapsed": self.active_seconds,
                "steps_per_sec": (self.steps_per_sec if self.status == "running" else
                                  self.step / self.active_seconds if self.active_seconds else 0.0),
                "pace": self.pace}


def train_to_end(config: RunConfig, capacity: int | None = None,
                 progress=None, fused: bool | None = None) -> RunSnapshot:
    """Train a config in the foreground (command line, tests) and return the final snapshot
    (`fused`: as TrainingJob's; None follows BNLAB_FUSED)."""
    from bn_core.engine.run import snapshot_of  # the run handle builds snapshots of records

    # Keep every record of a command-line run (Figure 1 wants a row per 100 steps), up to a
    # bound: past MAX_FOREGROUND_CAPACITY rows the history decimates as in the app.
    capacity = capacity or min(MAX_FOREGROUND_CAPACITY, max(
        DEFAULT_CAPACITY, config.steps // min(config.probe_every, config.eval_every) + 4))
    check_config(config)
    job, record = TrainingJob(config, fused=fused), RunRecord(1, capacity)
    try:
        job.load()
    except Exception as exc:
        job.fail(exc)
    last = time.monotonic()
    while True:
        job.advance(200)
        update = job.drain()
        if update is not None:
            record.apply(update)
        if job.done:
            break
        if progress and time.monotonic() - last > 0.5:
            last = time.monotonic()
            progress(snapshot_of(config, record))
    snap = snapshot_of(config, record)
    if snap.status == "failed":
        raise RuntimeError(snap.message)
    return snap


from bn_core.engine.run import Run  # noqa: E402,F401  (the run handle, re-exported for callers)
