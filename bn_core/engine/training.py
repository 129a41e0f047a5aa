"""Live training of a run's nets, side by side on identical batches, with probes recorded.

A `Run` owns one thread that steps all its nets in lockstep: every step, each net takes one SGD
step on the same batch (one deterministic schedule per seed), so what a snapshot shows for each
net refers to the same step.
A net whose loss or weights stop being finite stops as "diverged at step N"; its twins go on.
Readers call `snapshot()` from any thread: it assembles references that the trainers publish
whole, so it never sees half an update.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
import torch

from bn_core.nets import probes
from bn_core.config import NET_LABELS, TOY_DATASETS, RunConfig
from bn_core.data.datasets import Dataset, Whitener, batch_order, build_toy_dataset
from bn_core.engine.history import DEFAULT_CAPACITY, History
from bn_core.nets.models import MLP, build_twins

log = logging.getLogger("bn_core")

TRAIN_EVAL_SIZE = 500       # training examples used for the training-accuracy estimate
MNIST_TRAIN_SIZES = {"mnist-subset": 4000, "mnist": 60000, "fashion-mnist": 60000}
DEEP_LINEAR_DIM = 10
MAX_FOREGROUND_CAPACITY = 8192  # rows per history for train_to_end


# ---------------------------------------------------------------------------- data

def deep_linear_dataset(n_samples: int, seed: int) -> Dataset:
    """Santurkar's deep linear task: x ~ N(0, I_10), targets A x with A a random 10x10."""
    rng = np.random.default_rng([seed, 99])
    a = rng.standard_normal((DEEP_LINEAR_DIM, DEEP_LINEAR_DIM))
    xs = [rng.standard_normal((n, DEEP_LINEAR_DIM)).astype(np.float32)
          for n in (n_samples, max(200, n_samples // 2))]
    ys = [(x @ a.T).astype(np.float32) for x in xs]
    ident = Whitener("none", np.zeros(DEEP_LINEAR_DIM), np.eye(DEEP_LINEAR_DIM))
    return Dataset(name="deep-linear", x_train=xs[0], y_train=ys[0], x_heldout=xs[1],
                   y_heldout=ys[1], x_test=xs[1], y_test=ys[1], n_classes=DEEP_LINEAR_DIM,
                   input_dim=DEEP_LINEAR_DIM, image_shape=None, whitener=ident)


@functools.lru_cache(maxsize=16)
def _cached_dataset(key: tuple) -> Dataset:
    name, n, noise, seed, far, white, shift, rot, scale, binarize = key
    if name in TOY_DATASETS:
        return build_toy_dataset(name, n_samples=n, noise=noise, seed=seed, far_offset=far,
                                 whitening=white, translate=shift, rotate_deg=rot, scale=scale)
    if name == "deep-linear":
        return deep_linear_dataset(n, seed)
    from bn_core.data.mnist import load_mnist  # imported lazily: only image runs need it
    return load_mnist(name, binarize=binarize)


def load_data(config: RunConfig) -> Dataset:
    """The run's data set (cached per process: viewers of similar runs share the arrays)."""
    toy = config.is_toy
    return _cached_dataset((
        config.dataset, config.n_samples, config.noise if toy else 0.0, config.seed,
        config.far_offset if toy else 0.0, config.whitening if toy else "none",
        (config.shift_x, config.shift_y) if toy else (0.0, 0.0),
        config.rotate_deg if toy else 0.0, config.scale if toy else 1.0,
        config.binarize and not toy))


def training_set_size(config: RunConfig) -> int:
    """How many training examples the config's data set has, without loading it."""
    if config.dataset in MNIST_TRAIN_SIZES:
        return MNIST_TRAIN_SIZES[config.dataset]
    return config.n_samples


def check_config(config: RunConfig) -> None:
    """Checks that need the data's size: raise ValueError naming the field."""
    n = training_set_size(config)
    if config.batch_size > n:
        raise ValueError(f"batch_size: got {config.batch_size}; allowed: between 1 and {n} "
                         f"(the {config.dataset} training set has {n} examples)")


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


def bn_input_edges(activation: str, placement: str) -> np.ndarray:
    """Histogram edges for what BN normalises: linear outputs, or the nonlinearity's outputs."""
    if placement == "before":
        return probes.histogram_edges(activation)
    lo, hi = {"sigmoid": (-0.1, 1.1), "tanh": (-1.2, 1.2), "relu": (-0.5, 6.0),
              "linear": (-6.0, 6.0)}[activation]
    return np.linspace(lo, hi, probes.HISTOGRAM_BINS + 1)


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


# ---------------------------------------------------------------------------- snapshots

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

    @property
    def status_text(self) -> str:
        if self.status == "diverged":
            return f"diverged at step {self.diverged_at}"
        return self.status


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
    data: Dataset | None
    viewers: int
    queue_position: int | None = None

    @property
    def live(self) -> bool:
        return self.status in ("queued", "loading", "running", "paused")

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


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
    """One net of a run: its optimiser, probes and records; publishes a NetView."""

    def __init__(self, name: str, net: MLP, setup: TrainingSetup, config: RunConfig,
                 capacity: int):
        self.name, self.net, self.setup, self.config = name, net, setup, config
        self.params = [p for p in net.parameters() if p.requires_grad]
        # where each weight matrix (bottom to top) sits among the trained parameters
        self._weight_at = [next(i for i, p in enumerate(self.params) if p is w)
                           for w in net.weight_tensors()]
        self.last_grads: tuple | None = None  # this step's gradients, set at probe steps
        self.optimizer = SGD(self.params, config.effective_lr, config.momentum)
        self.probe_hist = History(capacity)
        self.eval_hist = History(capacity)
        self.ics_hist = History(capacity)
        self.status, self.step, self.diverged_at = "training", 0, None
        self.latest: dict = {}
        self.initial_grid = None
        self._loss_sum, self._loss_n = 0.0, 0
        self.view = self._make_view()

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
        self.publish()

    # -- probes
    def probe(self, step: int, train_trace: list | None) -> None:
        cfg, setup, net = self.config, self.setup, self.net
        trace: list = []
        dropout, net.dropout = net.dropout, 0.0
        with probes.restoring(net), torch.no_grad():
            net(setup.x_probe, trace)  # training mode: BN uses the probe set's batch statistics
        net.dropout = dropout
        summaries = [probes.layer_summary(t["pre"], cfg.probe_unit, cfg.percentiles, setup.edges,
                                          cfg.activation) for t in trace]
        bn_hists = [probes.histogram_counts(t["bn_in"], setup.bn_edges) if "bn_in" in t
                    else np.zeros(len(setup.bn_edges) - 1, np.int32) for t in trace]
        loss = self._loss_sum / self._loss_n if self._loss_n else math.nan
        self._loss_sum, self._loss_n = 0.0, 0
        u = cfg.probe_unit
        row = {
            "loss": loss,
            "grad_norm": self._gradient_norms(),
            "bn_hist": np.stack(bn_hists),
        }
        for name in ("unit_pct", "pooled_pct", "hist"):
            row[name] = np.stack([s[name] for s in summaries])
        for name in ("mean", "var", "unit_mean", "unit_var", "saturated", "linear_zone",
                     "dead_units", "zero_outputs"):
            row[name] = np.array([s[name] for s in summaries], np.float32)
        latest = {"hist": row["hist"], "bn_hist": row["bn_hist"], "step": step}
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
        self.probe_hist.append(step, **row)

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
        if "test" not in self.setup.eval_sets:
            row["test_loss"], row["test_acc"] = row["heldout_loss"], row["heldout_acc"]
        self.eval_hist.append(step, **row)

    def measure_ics(self, step: int, xb, yb) -> None:
        cfg = self.config
        dist, cos = probes.internal_covariate_shift(self.net, xb, yb, cfg.effective_lr,
                                                    cfg.is_regression)
        scape = probes.loss_landscape(self.net, xb, yb,
                                      [s * cfg.effective_lr for s in probes.LANDSCAPE_STEP_SIZES],
                                      cfg.is_regression)
        self.ics_hist.append(step, dist=dist, cos=cos, **scape)

    def _make_view(self) -> NetView:
        return NetView(name=self.name, label=NET_LABELS[self.name], status=self.status,
                       step=self.step, diverged_at=self.diverged_at,
                       probes=self.probe_hist.view(), evals=self.eval_hist.view(),
                       ics=self.ics_hist.view(), latest=self.latest,
                       initial_grid=self.initial_grid)

    def publish(self) -> None:
        self.view = self._make_view()


# ---------------------------------------------------------------------------- runs

class Run:
    """A config being trained in the background: start, pause, resume, stop, restart."""

    def __init__(self, config: RunConfig, capacity: int = DEFAULT_CAPACITY,
                 slots: threading.Semaphore | None = None, idle_timeout: float | None = None,
                 on_queue=None):
        check_config(config)
        self.config, self.key = config, config.key()
        self.capacity, self.idle_timeout = capacity, idle_timeout
        self._slots, self._on_queue = slots, on_queue
        self._lock = threading.Lock()
        self._status, self._message = "ready", ""
        self._stop, self._go = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._trainers: dict[str, Trainer] = {}
        self._setup: TrainingSetup | None = None
        self._active_seconds, self._segment_start = 0.0, None
        self._viewers: dict[str, float] = {}
        self._last_seen = time.monotonic()
        self.queue_position: int | None = None

    # -- control
    def start(self) -> "Run":
        """Start training (from scratch if it ran before); no-op while it is live."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._go.set()
            self._status, self._message = "queued" if self._slots else "loading", ""
            self._trainers = {}
            self._active_seconds, self._segment_start = 0.0, None
            self._last_seen = time.monotonic()
            self._thread = threading.Thread(target=self._main, daemon=True,
                                            name=f"bnlab-run-{id(self):x}")
            self._thread.start()
        return self

    def pause(self) -> None:
        with self._lock:
            if self._status == "running":
                self._go.clear()
                self._status = "paused"
                self._close_segment()

    def resume(self) -> None:
        with self._lock:
            if self._status == "paused":
                self._status = "running"
                self._segment_start = time.perf_counter()
                self._go.set()

    def stop(self, reason: str = "stopped", wait: float | None = 5.0) -> None:
        """Cancel training; the run's threads end within a step."""
        self._stop.set()
        self._go.set()
        with self._lock:
            if self._status in ("queued", "loading", "running", "paused"):
                self._message = reason
        if wait is not None:
            self.wait(wait)

    def restart(self) -> "Run":
        self.stop()
        return self.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run's threads have ended; returns whether they have."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def wait_first_record(self, timeout: float = 0.5) -> bool:
        """Wait (briefly) until the nets have published their step-0 records, so a page
        redrawn right after Start already shows the new run; returns whether they have."""
        deadline = time.monotonic() + timeout
        while not self._trainers and self.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        return bool(self._trainers)

    def touch(self, viewer: str = "anonymous") -> None:
        """A viewer looked at the run (pages call this at each refresh)."""
        now = time.monotonic()
        self._last_seen = now
        self._viewers[viewer] = now

    def release(self, viewer: str) -> None:
        self._viewers.pop(viewer, None)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        return self._status

    # -- the coordinator thread
    def _main(self) -> None:
        have_slot = False
        try:
            if self._slots is not None:
                if self._on_queue:
                    self._on_queue(self, True)
                while not self._stop.is_set():
                    if self._slots.acquire(timeout=0.2):
                        have_slot = True
                        break
                    self._check_idle()
                if self._on_queue:
                    self._on_queue(self, False)
                if not have_slot:
                    self._finish("stopped")
                    return
            self._status = "loading"
            torch.set_num_threads(1)  # process-wide: the server keeps the other core
            setup = self._setup or prepare(self.config)
            self._setup = setup
            nets = build_twins(self.config, setup.x_train.shape[1], setup.n_outputs)
            trainers = {name: Trainer(name, net, setup, self.config, self.capacity)
                        for name, net in nets.items()}
            for t in trainers.values():  # pages see nets only once they hold a first record
                t.probe(0, None)
                t.evaluate(0)
                t.publish()
            self._trainers = trainers
            with self._lock:
                if self._status == "loading":
                    self._status = "running"
                    self._segment_start = time.perf_counter()
            self._train(list(self._trainers.values()))
            self._finish("stopped" if self._stop.is_set() else "finished")
        except Exception as exc:  # reported on the page and in the log; other runs go on
            log.error("run %s failed:\n%s", self.key, traceback.format_exc())
            for trainer in self._trainers.values():
                if trainer.active:
                    trainer.status = "failed"
                    trainer.publish()
            self._finish("failed", f"{type(exc).__name__}: {exc}")
        finally:
            if have_slot:
                self._slots.release()

    def _train(self, trainers: list[Trainer]) -> None:
        """The lockstep loop: every active net takes one SGD step on the same batch."""
        cfg, setup = self.config, self._setup
        schedule = BatchSchedule(setup.data.y_train, cfg.batch_size, cfg.shuffle, cfg.seed)
        started, pace = time.perf_counter(), cfg.pace
        active = list(trainers)
        for step in range(1, cfg.steps + 1):
            if not self._go.is_set():
                while not self._go.wait(0.2):  # paused: a paused run nobody watches stops too
                    self._check_idle()
                started = time.perf_counter() - (step - 1) / pace if pace else started
            if self._stop.is_set() or not active:
                break
            if step % 64 == 0:
                self._check_idle()
            idx = schedule.indices(step - 1)
            xb = setup.x_train.index_select(0, idx)
            yb = setup.y_train.index_select(0, idx)
            probe_now = step % cfg.probe_every == 0 or step == cfg.steps
            eval_now = step % cfg.eval_every == 0 or step == cfg.steps
            if cfg.ics_every and step % cfg.ics_every == 0:
                for t in active:
                    t.measure_ics(step, xb, yb)
            traces = [[] if probe_now else None for _ in active]
            losses = [t.loss(xb, yb, trace) for t, trace in zip(active, traces)]
            values = torch.stack([l.detach() for l in losses]).tolist()
            finite = [math.isfinite(v) for v in values]
            if not all(finite):
                for t, ok in zip(active, finite):
                    if not ok:
                        t.diverge(step)
                keep = [i for i, ok in enumerate(finite) if ok]
                active, losses, traces = ([active[i] for i in keep], [losses[i] for i in keep],
                                          [traces[i] for i in keep])
                values = [values[i] for i in keep]
                if not active:
                    break
            grads = torch.autograd.grad(sum(losses), [p for t in active for p in t.params])
            offset = 0
            for t, value in zip(active, values):
                n = len(t.params)
                t.optimizer.step(grads[offset:offset + n])
                if probe_now:
                    t.last_grads = grads[offset:offset + n]
                offset += n
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
                    t.publish()
                active = [t for t in active if t.active]
            if pace:
                delay = started + step / pace - time.perf_counter()
                if delay > 0:
                    time.sleep(min(delay, 1.0))
        for t in trainers:
            if t.active:
                t.status = "stopped" if self._stop.is_set() else "finished"
            t.publish()

    def _check_idle(self) -> None:
        if self.idle_timeout is not None and not self._stop.is_set() \
                and time.monotonic() - self._last_seen > self.idle_timeout:
            log.info("run %s: no viewers for %.0f s, stopping", self.key, self.idle_timeout)
            self._message = "stopped: nobody was watching"
            self._stop.set()
            self._go.set()

    def _close_segment(self) -> None:
        if self._segment_start is not None:
            self._active_seconds += time.perf_counter() - self._segment_start
            self._segment_start = None

    def _finish(self, status: str, message: str = "") -> None:
        with self._lock:
            self._close_segment()
            self._status = status
            if message or not self._message:
                self._message = message

    # -- reading
    def snapshot(self) -> RunSnapshot:
        trainers = self._trainers
        nets = {name: t.view for name, t in trainers.items()}
        live = [v.step for v in nets.values() if v.status == "training"]
        step = min(live) if live else max((v.step for v in nets.values()), default=0)
        elapsed = self._active_seconds + (time.perf_counter() - self._segment_start
                                          if self._segment_start is not None else 0.0)
        setup = self._setup
        now = time.monotonic()
        viewers = sum(1 for t in list(self._viewers.values()) if now - t < 10.0)
        status = self._status
        return RunSnapshot(
            key=self.key, config=self.config, status=status, message=self._message,
            step=step, total_steps=self.config.steps,
            steps_per_sec=step / elapsed if elapsed > 0 else 0.0, elapsed=elapsed, nets=nets,
            edges=setup.edges if setup else None, bn_edges=setup.bn_edges if setup else None,
            viewport=setup.viewport if setup else None, data=setup.data if setup else None,
            viewers=viewers, queue_position=self.queue_position if status == "queued" else None)


def train_to_end(config: RunConfig, capacity: int | None = None,
                 progress=None) -> RunSnapshot:
    """Train a config in the foreground (command line, tests) and return the final snapshot."""
    # Keep every record of a command-line run (Figure 1 wants a row per 100 steps), up to a
    # bound: past MAX_FOREGROUND_CAPACITY rows the history decimates as in the app.
    capacity = capacity or min(MAX_FOREGROUND_CAPACITY, max(
        DEFAULT_CAPACITY, config.steps // min(config.probe_every, config.eval_every) + 4))
    run = Run(config, capacity=capacity).start()
    while not run.wait(0.5):
        if progress:
            progress(run.snapshot())
    snap = run.snapshot()
    if snap.status == "failed":
        raise RuntimeError(snap.message)
    return snap
