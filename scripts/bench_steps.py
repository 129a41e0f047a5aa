"""Twin step speed: the autograd lockstep step against fused alternatives, and the probes' cost.

    python scripts/bench_steps.py [--nets fig1,toy] [--variants a,b,c,d,e] [--chunk 300]
                                  [--repeats 5] [--parts steps,probes,procs] [--out FILE]

Everything trains for real (torch, SGD, the run's batch sequence) with one torch thread unless
stated. Variants are interleaved in `--chunk`-step chunks inside one process, so drift in the
machine's load hits them alike; each figure is min/median/max over `--repeats` chunks, in
microseconds per twin step (both nets on one batch). Prints JSON (see docs/benchmarks.md).

Variants:
  a  the engine's step (Run._train): forward of each net, autograd.grad(sum of losses), foreach SGD
  b  the twins' weights stacked, one bmm per layer for both nets, autograd
  c  bn_core.nets.fused.FusedTwinStep: hand-written forward/backward, per net, no autograd
  d  (b)+(c): stacked weights, one bmm per layer, hand-written backward, no autograd
  e  torch.func.grad_and_value of the twin loss through functional_call
Parts:
  steps   the variants above on the Figure 1 net and the home page's toy net
  procs   Figure 1 twin as one process vs two processes (one net each), 1 or 2 threads each
  probes  the trainer's probes, as the trainer calls them, per net, and cheaper forms
  single  (a) and (c) for each net of the run alone (what each process of --jobs 2 trains)
  run     a whole run (default Figure 1, 50,000 steps) in two processes, one net each, with the
          trainer's probes at the run's cadence (--run-steps, --run-net, --proc-variant a,c)
  engine  the engine itself, fused step (default) against autograd (BNLAB_FUSED=0), in
          alternating order (ABBA...) over --repeats: `python -m bn_core reproduce fig1` end
          to end (a fresh process each, --run-steps, default 50,000); the home page's toy run
          un-paced in this process (train_to_end); the Figure 1 twin in this process against
          the bare eager loop (plain then BN net) over --twin-steps steps
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from bn_core.config import RunConfig  # noqa: E402
from bn_core.data.datasets import batch_order, build_toy_dataset  # noqa: E402
from bn_core.nets import probes  # noqa: E402
from bn_core.nets.fused import FusedTwinStep, can_fuse  # noqa: E402
from bn_core.nets.models import build_twins  # noqa: E402
from bn_core.presets import preset  # noqa: E402


# ---------------------------------------------------------------------------- configs and data

def home_run() -> RunConfig:
    """The home page's run, read from app.py's HOME_RUN literal (app.py imports streamlit)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "HOME_RUN"
                                                for t in node.targets):
            return RunConfig(**{k.arg: ast.literal_eval(k.value) for k in node.value.keywords})
    raise SystemExit("app.py has no HOME_RUN")


CONFIGS = {"fig1": lambda: preset("figure1").config, "toy": home_run}


class Data:
    """The run's tensors and batch sequence, built as the engine builds them."""

    def __init__(self, config: RunConfig):
        if config.dataset in ("mnist-subset", "mnist", "fashion-mnist"):
            from bn_core.data.mnist import load_mnist
            data = load_mnist(config.dataset, binarize=config.binarize)
        else:
            data = build_toy_dataset(config.dataset, n_samples=config.n_samples,
                                     noise=config.noise, seed=config.seed,
                                     far_offset=config.far_offset, whitening=config.whitening)
        self.data, self.config = data, config
        self.x = torch.from_numpy(data.model_input(data.x_train))
        self.y = torch.from_numpy(np.asarray(data.y_train, np.int64))
        self.n_outputs = data.n_classes
        self.per_epoch = len(self.y) // config.batch_size
        self._epoch, self._order = -1, None
        rng = np.random.default_rng([config.seed, 5])
        sub = np.sort(rng.permutation(len(self.x))[:500])
        held = slice(0, config.heldout_size)
        xh = torch.from_numpy(data.model_input(data.x_heldout[held]))
        yh = torch.from_numpy(np.asarray(data.y_heldout[held], np.int64))
        self.eval_sets = {"train": (self.x[sub], self.y[sub]), "heldout": (xh, yh)}
        if data.x_test is not data.x_heldout:
            self.eval_sets["test"] = (torch.from_numpy(data.model_input(data.x_test[held])),
                                      torch.from_numpy(np.asarray(data.y_test[held], np.int64)))
        self.x_probe = xh
        self.grids = {}
        if data.input_dim == 2:
            for res in (60, 50):
                self.grids[res] = torch.from_numpy(data.model_input(data.grid_points(res)[2]))

    def batch(self, step: int):
        """The batch of update `step`, as the engine's BatchSchedule + index_select make it."""
        epoch, b = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            order = batch_order(self.y.numpy(), self.config.shuffle, self.config.seed, epoch)
            self._order = torch.from_numpy(np.ascontiguousarray(order, dtype=np.int64))
            self._epoch = epoch
        bs = self.config.batch_size
        idx = self._order[b * bs:(b + 1) * bs]
        return self.x.index_select(0, idx), self.y.index_select(0, idx)


# ---------------------------------------------------------------------------- variants

class SGD:
    """The engine's optimiser (bn_core.engine.training.SGD), copied: that module is rewritten."""

    def __init__(self, params, lr, momentum=0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.buffers = [torch.zeros_like(p) for p in params] if momentum else None

    @torch.no_grad()
    def step(self, grads):
        if self.buffers is None:
            torch._foreach_add_(self.params, grads, alpha=-self.lr)
        else:
            torch._foreach_mul_(self.buffers, self.momentum)
            torch._foreach_add_(self.buffers, grads)
            torch._foreach_add_(self.params, self.buffers, alpha=-self.lr)


class Autograd:
    """(a) The engine's lockstep step, as Run._train does it."""

    def __init__(self, nets, config):
        self.nets, self.config = nets, config
        self.params = [[p for p in n.parameters() if p.requires_grad] for n in nets]
        self.flat = [p for ps in self.params for p in ps]
        self.opts = [SGD(ps, config.effective_lr, config.momentum) for ps in self.params]

    def step(self, xb, yb):
        losses = [probes.loss_of(n(xb, None), yb, False) for n in self.nets]
        values = torch.stack([l.detach() for l in losses]).tolist()
        grads = torch.autograd.grad(sum(losses), self.flat)
        offset = 0
        for opt, ps in zip(self.opts, self.params):
            opt.step(grads[offset:offset + len(ps)])
            offset += len(ps)
        return values


def _stack_into(tensors):
    """One (K, ...) tensor holding the given tensors; each is re-pointed at its slice, so the
    nets keep their own parameters and see every update made to the stack."""
    stack = torch.stack([t.detach() for t in tensors]).contiguous()
    for k, t in enumerate(tensors):
        t.data = stack[k]
    return stack


class StackedAutograd:
    """(b) One bmm per layer for all nets (weights stacked), autograd for the gradients."""

    def __init__(self, nets, config):
        self.nets, self.lr = nets, config.effective_lr
        self.act = nets[0].act
        depth = nets[0].depth
        self.ws = [_stack_into([n.linears[i].weight for n in nets]).requires_grad_()
                   for i in range(depth)]
        self.wo = _stack_into([n.output.weight for n in nets]).requires_grad_()
        self.bo = _stack_into([n.output.bias for n in nets]).unsqueeze(1).requires_grad_()
        self.others = [p for n in nets for p in n.parameters() if p.requires_grad
                       and p.dim() == 1 and p is not n.output.bias]
        self.leaves = self.ws + [self.wo, self.bo] + self.others

    def step(self, xb, yb):
        k = len(self.nets)
        h = xb.expand(k, *xb.shape)
        for i, w in enumerate(self.ws):
            z = torch.bmm(h, w.transpose(1, 2))
            pres = []
            for j, net in enumerate(self.nets):
                if net.norm:
                    pres.append(net.norms[i].forward(z[j]))
                else:
                    pres.append(z[j] + net.linears[i].bias)
            h = self.act(torch.stack(pres))
        logits = torch.baddbmm(self.bo, h, self.wo.transpose(1, 2))
        losses = [F.cross_entropy(logits[j], yb) for j in range(k)]
        values = torch.stack([l.detach() for l in losses]).tolist()
        grads = torch.autograd.grad(sum(losses), self.leaves)
        with torch.no_grad():
            torch._foreach_add_(self.leaves, grads, alpha=-self.lr)
        return values


class Fused:
    """(c) bn_core.nets.fused.FusedTwinStep."""

    def __init__(self, nets, config):
        self.fused = FusedTwinStep(nets, [config.effective_lr] * len(nets), config)

    def step(self, xb, yb):
        return self.fused.step(xb, yb)[0]


_bn_backward_out = torch.ops.aten.native_batch_norm_backward.out
_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input


class StackedFused:
    """(d) Stacked weights (one bmm per layer for all nets) and a hand-written backward.
    Sigmoid nets, plain SGD only: an experiment, measured here."""

    def __init__(self, nets, config):
        assert config.activation == "sigmoid" and not config.momentum
        self.nets, self.lr = nets, config.effective_lr
        k, depth, width = len(nets), nets[0].depth, config.width
        self.ws = [_stack_into([n.linears[i].weight for n in nets]) for i in range(depth)]
        self.wo = _stack_into([n.output.weight for n in nets])
        self.bo = _stack_into([n.output.bias for n in nets]).unsqueeze(1)
        # hidden biases: plain nets' rows are their biases, BN nets' rows stay zero
        self.bs = []
        for i in range(depth):
            rows = torch.zeros(k, 1, width)
            for j, n in enumerate(nets):
                if n.linears[i].bias is not None:
                    rows[j, 0] = n.linears[i].bias.detach()
                    n.linears[i].bias.data = rows[j, 0]
            self.bs.append(rows)
        self.bn = [j for j, n in enumerate(nets) if n.norm]
        self.plain = [j for j, n in enumerate(nets) if not n.norm]
        self._batch = -1

    def _alloc(self, b):
        k, depth, width = len(self.nets), len(self.ws), self.ws[0].shape[1]
        c = self.wo.shape[1]
        self.z = [torch.empty(k, b, width) for _ in range(depth)]
        self.h = [torch.empty(k, b, width) for _ in range(depth)]
        self.gh = [torch.empty(k, b, width) for _ in range(depth)]
        self.stats = [[(torch.empty(width), torch.empty(width)) for _ in range(k)]
                      for _ in range(depth)]
        self.logits, self.g = torch.empty(k, b, c), torch.empty(k, b, c)
        self.ones = torch.ones(k, 1, b)
        self.neg = torch.full((k, b, 1), -1.0)
        self._batch = b

    @torch.no_grad()
    def step(self, xb, yb):
        b, k = xb.shape[0], len(self.nets)
        if b != self._batch:
            self._alloc(b)
        nets, lr = self.nets, -self.lr
        inputs, h = [], xb.expand(k, *xb.shape)
        for i, w in enumerate(self.ws):
            inputs.append(h)
            z, out = self.z[i], self.h[i]
            torch.baddbmm(self.bs[i], h, w.transpose(1, 2), out=z)
            for j in self.plain:
                out[j].copy_(z[j])
            for j in self.bn:
                norm = nets[j].norms[i]
                mean, invstd = self.stats[i][j]
                torch.native_batch_norm(z[j], norm.weight, norm.bias, norm.running_mean,
                                        norm.running_var, True, 0.1, norm.eps,
                                        out=(out[j], mean, invstd))
            h = out.sigmoid_()
        logits = torch.baddbmm(self.bo, h, self.wo.transpose(1, 2), out=self.logits)
        logp = torch.log_softmax(logits, 2)
        target = yb.view(1, b, 1).expand(k, b, 1)
        values = logp.gather(2, target).sum(1).mul_(-1.0 / b).view(k).tolist()
        g = torch.exp(logp, out=self.g)
        g.scatter_add_(2, target, self.neg)
        g.mul_(1.0 / b)
        last = len(self.ws) - 1
        gh = torch.bmm(g, self.wo, out=self.gh[last])
        self.wo.baddbmm_(g.transpose(1, 2), h, alpha=lr)
        self.bo.baddbmm_(self.ones, g, alpha=lr)
        small, small_grads = [], []
        for i in range(last, -1, -1):
            w = self.ws[i]
            _sigmoid_backward(gh, self.h[i], grad_input=gh)
            for j in self.bn:
                norm = nets[j].norms[i]
                mean, invstd = self.stats[i][j]
                gz_j, dgamma, dbeta = torch.empty_like(gh[j]), torch.empty_like(mean), \
                    torch.empty_like(mean)
                _bn_backward_out(gh[j], self.z[i][j], norm.weight, norm.running_mean,
                                 norm.running_var, mean, invstd, True, norm.eps,
                                 [True, True, True], out0=gz_j, out1=dgamma, out2=dbeta)
                gh[j].copy_(gz_j)
                small += [norm.weight, norm.bias]
                small_grads += [dgamma, dbeta]
            self.bs[i].baddbmm_(self.ones, gh, alpha=lr)  # BN rows get zero: zero-sum gz
            if i > 0:
                gh_next = torch.bmm(gh, w, out=self.gh[i - 1])
            w.baddbmm_(gh.transpose(1, 2), inputs[i], alpha=lr)
            if i > 0:
                gh = gh_next
        for j in self.bn:  # BN rows of the bias stack are not the net's: keep them zero
            for rows in self.bs:
                rows[j].zero_()
        if small:
            torch._foreach_add_(small, small_grads, alpha=lr)
        return values


class TorchFunc:
    """(e) torch.func.grad_and_value of the twin loss through functional_call."""

    def __init__(self, nets, config):
        from torch.func import functional_call, grad_and_value
        self.nets, self.lr = nets, config.effective_lr
        self.names = [[n for n, p in net.named_parameters() if p.requires_grad] for net in nets]
        self.params = [[p for p in net.parameters() if p.requires_grad] for net in nets]
        self.buffers = [dict(net.named_buffers()) for net in nets]

        def twin_loss(plist, xb, yb):
            losses = []
            for net, names, ps, bufs in zip(nets, self.names, plist, self.buffers):
                state = dict(zip(names, ps))
                state.update(bufs)
                losses.append(F.cross_entropy(functional_call(net, state, (xb,)), yb))
            total = losses[0]
            for l in losses[1:]:
                total = total + l
            return total, torch.stack([l.detach() for l in losses])
        self.fn = grad_and_value(twin_loss, has_aux=True)

    def step(self, xb, yb):
        grads, (_, values) = self.fn([[p.detach() for p in ps] for ps in self.params], xb, yb)
        with torch.no_grad():
            torch._foreach_add_([p for ps in self.params for p in ps],
                                [g for gs in grads for g in gs], alpha=-self.lr)
        return values.tolist()


VARIANTS = {"a": Autograd, "b": StackedAutograd, "c": Fused, "d": StackedFused, "e": TorchFunc}
VARIANT_NAMES = {
    "a": "autograd twin step (the engine's)",
    "b": "stacked weights, bmm, autograd",
    "c": "hand-written forward/backward (FusedTwinStep)",
    "d": "stacked weights, bmm, hand-written backward",
    "e": "torch.func grad_and_value",
}


def summary(values: list[float], digits: int = 1) -> dict:
    return {"min": round(min(values), digits),
            "median": round(statistics.median(values), digits),
            "max": round(max(values), digits)}


def bench_steps(which: str, variants: str, chunk: int, repeats: int, kind: str | None = None
                ) -> dict:
    """Interleaved chunks of real training per variant; us per twin step and agreement.
    With `kind`, one net of the run alone (as each process of `reproduce --jobs 2` trains)."""
    config = CONFIGS[which]()
    if kind is not None:
        config = config.replace(nets=(kind,))
    data = Data(config)
    runners, steps = {}, {}
    for v in variants:
        nets = list(build_twins(config, data.x.shape[1], data.n_outputs).values())
        runners[v] = VARIANTS[v](nets, config)
        steps[v] = 0
    times = {v: [] for v in variants}
    cpu = {v: [] for v in variants}  # this thread's CPU time: what other processes' load
    last = {}                        # cannot inflate (it still slows caches and clocks)
    for v, r in runners.items():  # warm-up, not timed
        for _ in range(20):
            last[v] = r.step(*data.batch(steps[v]))
            steps[v] += 1
    for rep in range(repeats):
        for v, r in runners.items():
            batches = [data.batch(steps[v] + s) for s in range(chunk)]  # the trainer's cost,
            t0, c0 = time.perf_counter(), time.thread_time()           # not timed here
            for xb, yb in batches:
                last[v] = r.step(xb, yb)
            times[v].append((time.perf_counter() - t0) / chunk * 1e6)
            cpu[v].append((time.thread_time() - c0) / chunk * 1e6)
            steps[v] += chunk
    out = {"config": which if kind is None else f"{which}, {kind} net alone",
           "net": f"{data.x.shape[1]}-{config.width}x{config.depth}-"
           f"{data.n_outputs} {config.activation}, batch {config.batch_size}",
           "fusable": can_fuse(config, build_twins(config, data.x.shape[1], data.n_outputs)),
           "us_per_twin_step": {}, "cpu_us_per_twin_step": {}, "twin_steps_per_s_median": {},
           "ratio_to_a_median": {}, "cpu_ratio_to_a_median": {},
           "last_losses": {v: [round(x, 6) for x in last[v]] for v in variants}}
    for v in variants:
        out["us_per_twin_step"][v] = summary(times[v])
        out["cpu_us_per_twin_step"][v] = summary(cpu[v])
        out["twin_steps_per_s_median"][v] = round(1e6 / statistics.median(times[v]))
    if "a" in times:
        base, base_cpu = statistics.median(times["a"]), statistics.median(cpu["a"])
        for v in variants:
            out["ratio_to_a_median"][v] = round(base / statistics.median(times[v]), 2)
            out["cpu_ratio_to_a_median"][v] = round(base_cpu / statistics.median(cpu[v]), 2)
    return out


# ---------------------------------------------------------------------------- processes

def _train_window(which, kind, variant, threads, window, barrier, results):
    """Train the run's nets (`kind` None: the twin in lockstep; else that net alone) for
    `window` seconds after every process is ready (`barrier`); put the steps done."""
    torch.set_num_threads(threads)
    config = CONFIGS[which]()
    if kind is not None:
        config = config.replace(nets=(kind,))
    data = Data(config)
    nets = list(build_twins(config, data.x.shape[1], data.n_outputs).values())
    runner = VARIANTS[variant](nets, config)
    batches = [data.batch(s) for s in range(600)]
    for xb, yb in batches[:20]:
        runner.step(xb, yb)
    barrier.wait()
    end_at, steps = time.perf_counter() + window, 0
    while time.perf_counter() < end_at:
        for xb, yb in batches[steps % 600:steps % 600 + 20]:
            runner.step(xb, yb)
        steps += 20
    results.put(steps)


def bench_procs(which: str, variant: str, window: float, repeats: int) -> dict:
    """Twin steps per second of the Figure 1 run over a `window` of wall time: one process
    training the twin vs two processes training one net each, with 1 or 2 torch threads
    each (a twin step is done when both nets have taken it: the slower process counts)."""
    config = CONFIGS[which]()
    ctx = multiprocessing.get_context("spawn")
    rows = {}
    layouts = [("1 process, twin, 1 thread", 1, 1), ("1 process, twin, 2 threads", 1, 2),
               ("2 processes, 1 net each, 1 thread", 2, 1),
               ("2 processes, 1 net each, 2 threads", 2, 2)]
    for _ in range(repeats):
        for name, procs, threads in layouts:
            kinds = [None] if procs == 1 else list(config.nets)
            barrier, results = ctx.Barrier(len(kinds)), ctx.Queue()
            workers = [ctx.Process(target=_train_window, args=(which, k, variant, threads,
                                                               window, barrier, results))
                       for k in kinds]
            for w in workers:
                w.start()
            steps = [results.get(timeout=600) for _ in workers]
            for w in workers:
                w.join()
            rows.setdefault(name, []).append(min(steps) / window)
    return {"variant": variant, "window_s": window,
            "twin_steps_per_s": {k: summary(v) for k, v in rows.items()}}


# ---------------------------------------------------------------------------- probes

def trainer_probe(net, data, config, edges, grads, train_trace):
    """What Trainer.probe computes (without the History), as it computes it."""
    trace = []
    with probes.restoring(net), torch.no_grad():
        net(data.x_probe, trace)
    summaries = [probes.layer_summary(t["pre"], config.probe_unit, config.percentiles, edges,
                                      config.activation) for t in trace]
    bn_hists = [probes.histogram_counts(t["bn_in"], edges) if "bn_in" in t
                else np.zeros(len(edges) - 1, np.int32) for t in trace]
    probes.gradient_norms([None] * (config.depth + 1) if grads is None else
                          [g for g in grads if g.dim() == 2])
    if net.norms is not None:
        stats = [(t["bn_in"].mean(0), t["bn_in"].var(0, unbiased=False))
                 for t in train_trace] if train_trace else []
        for norm in net.norms:
            for t in (norm.running_mean, norm.running_var, norm.weight, norm.bias):
                t.detach().numpy().copy()
        del stats
    grid = None
    if config.grid_resolution in data.grids:
        grid = probes.decision_grid(net, data.grids[config.grid_resolution],
                                    config.grid_resolution)
    return summaries, bn_hists, grid


def trainer_evaluate(net, data):
    """What Trainer.evaluate computes."""
    net.eval()
    with torch.no_grad():
        for x, y in data.eval_sets.values():
            logits = net(x)
            float(probes.loss_of(logits, y, False))
            probes.accuracy(logits, y)
    net.train()


def _run_worker(args):
    """One net of a run, trained for `steps` with the trainer's probes at its cadence."""
    which, kind, variant, steps, start_at = args
    torch.set_num_threads(1)
    base = CONFIGS[which]()
    config = base.replace(nets=(kind,), steps=steps)
    t0 = time.perf_counter()
    data = Data(config)
    net = build_twins(config, data.x.shape[1], data.n_outputs)[kind]
    edges = probes.histogram_edges(config.activation)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = SGD(params, config.effective_lr, config.momentum)
    fused = FusedTwinStep([net], [opt], config) if variant == "c" else None
    trainer_probe(net, data, config, edges, None, None)
    trainer_evaluate(net, data)
    setup_s = time.perf_counter() - t0
    while time.time() < start_at:
        time.sleep(0.001)
    t0, c0 = time.perf_counter(), time.process_time()
    probe_s = probe_cpu = 0.0
    for step in range(1, steps + 1):
        xb, yb = data.batch(step - 1)
        probe_now = step % config.probe_every == 0 or step == steps
        eval_now = step % config.eval_every == 0 or step == steps
        trace = [] if probe_now else None
        if fused is not None:
            _, grads = fused.step(xb, yb, want_grads=probe_now,
                                  traces=[trace] if probe_now else None)
            grads = grads[0] if grads else None
        else:
            loss = probes.loss_of(net(xb, trace), yb, False)
            loss.item()
            grads = torch.autograd.grad(loss, params)
            opt.step(grads)
        if probe_now or eval_now:
            p0, q0 = time.perf_counter(), time.process_time()
            all(bool(torch.isfinite(p).all()) for p in params)
            if probe_now:
                trainer_probe(net, data, config, edges, grads, trace)
            if eval_now:
                trainer_evaluate(net, data)
            probe_s += time.perf_counter() - p0
            probe_cpu += time.process_time() - q0
    return {"net": kind, "setup_s": round(setup_s, 2),
            "train_s": round(time.perf_counter() - t0, 2),
            "of_which_probes_s": round(probe_s, 2),
            "train_cpu_s": round(time.process_time() - c0, 2),
            "of_which_probes_cpu_s": round(probe_cpu, 2)}


def bench_run(which: str, variant: str, steps: int) -> dict:
    """A whole run in two processes, one net each, with the trainer's probes at the config's
    cadence: the wall time `reproduce fig1 --jobs 2` would have with this step."""
    config = CONFIGS[which]()
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(len(config.nets)) as pool:
        start_at = time.time() + 3.0  # both loaded and set up (spawn + imports + data)
        rows = pool.map(_run_worker, [(which, k, variant, steps, start_at) for k in config.nets])
    return {"variant": variant, "steps": steps,
            "wall_s_incl_spawn": round(time.perf_counter() - t0, 2),
            "per_net": rows}


def _cli_fig1(fused: bool, steps: int) -> dict:
    """`python -m bn_core reproduce fig1 --steps N` in a fresh process: wall and CPU seconds
    (the process and its workers) and the final accuracies it reports."""
    env = {**os.environ, "BNLAB_FUSED": "1" if fused else "0", "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bn_core", "reproduce", "fig1", "--steps",
                               str(steps), "--out", out], env=env, cwd=str(ROOT),
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"reproduce fig1 failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {"wall_s": round(wall, 2), "train_s": report["train_seconds"],
            "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
            "summary": report["summary"]}


def _in_process(config: RunConfig, fused: bool) -> dict:
    """train_to_end of `config` in this process: steps/s over wall and over thread CPU."""
    from bn_core.engine.training import train_to_end
    t0, c0 = time.perf_counter(), time.thread_time()
    snap = train_to_end(config, fused=fused)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    assert snap.status == "finished", snap.message
    return {"steps_per_s": round(config.steps / wall, 1),
            "steps_per_cpu_s": round(config.steps / cpu, 1),
            "final_heldout_acc": {k: round(float(v.evals["heldout_acc"][-1]), 4)
                                  for k, v in snap.nets.items()}}


def _bare(config: RunConfig) -> dict:
    """The bare eager loop (bn_core.bench.bare_loop): plain net, then BN net, same batches."""
    from bn_core.bench import bare_loop
    from bn_core.engine.training import prepare
    setup = prepare(config)
    t0 = time.perf_counter()
    seconds = bare_loop(config, setup, False) + bare_loop(config, setup, True)
    return {"steps_per_s": round(config.steps / seconds, 1),
            "wall_s_incl_setup": round(time.perf_counter() - t0, 2)}


def bench_engine(steps: int, twin_steps: int, repeats: int) -> dict:
    """Fused against autograd in the engine, interleaved (ABBA): see the module docstring."""
    fig1 = CONFIGS["fig1"]().replace(steps=twin_steps)
    toy = home_run().replace(pace=0.0)
    rows = {"fig1_cli_fused": [], "fig1_cli_autograd": [], "toy_fused": [],
            "toy_autograd": [], "fig1_twin_fused": [], "fig1_bare": []}
    for r in range(repeats):
        order = (True, False) if r % 2 == 0 else (False, True)
        for fused in order:
            name = "fused" if fused else "autograd"
            rows[f"fig1_cli_{name}"].append(_cli_fig1(fused, steps))
            print(name, rows[f"fig1_cli_{name}"][-1], file=sys.stderr)
        for fused in order:
            rows[f"toy_{'fused' if fused else 'autograd'}"].append(_in_process(toy, fused))
        for fused in order:
            if fused:
                rows["fig1_twin_fused"].append(_in_process(fig1, True))
            else:
                rows["fig1_bare"].append(_bare(fig1))
    cli_ratio = [a["wall_s"] / f["wall_s"] for f, a in zip(rows["fig1_cli_fused"],
                                                        rows["fig1_cli_autograd"])]
    toy_ratio = [f["steps_per_s"] / a["steps_per_s"] for f, a in zip(rows["toy_fused"],
                                                                      rows["toy_autograd"])]
    bare_ratio = [f["steps_per_s"] / b["steps_per_s"] for f, b in zip(rows["fig1_twin_fused"],
                                                                      rows["fig1_bare"])]
    return {"fig1_steps": steps, "toy": toy.dataset, "toy_steps": toy.steps,
            "twin_steps": twin_steps, "repeats": repeats, "runs": rows,
            "fig1_cli_wall_s_fused": summary([x["wall_s"] for x in rows["fig1_cli_fused"]]),
            "fig1_cli_wall_s_autograd": summary([x["wall_s"] for x in rows["fig1_cli_autograd"]]),
            "fig1_cli_speedup_autograd_over_fused_wall": summary(cli_ratio, 3),
            "toy_steps_per_s_fused": summary([x["steps_per_s"] for x in rows["toy_fused"]]),
            "toy_steps_per_s_autograd": summary([x["steps_per_s"] for x in rows["toy_autograd"]]),
            "toy_speedup": summary(toy_ratio, 3),
            "fig1_twin_fused_over_bare_loop": summary(bare_ratio, 3)}


def _ms(fn, repeats):
    """Milliseconds per call: the fastest of `repeats` calls (other processes' load only ever
    adds time, so the minimum is the probe's own cost)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return round(best * 1e3, 3)


def bench_probes(which: str, repeats: int) -> dict:
    """Milliseconds per call, per net, of each probe as the trainer calls it (Trainer.probe,
    Trainer.evaluate, Trainer.measure_ics), and of cheaper forms."""
    config = CONFIGS[which]()
    data = Data(config)
    nets = build_twins(config, data.x.shape[1], data.n_outputs)
    edges = probes.histogram_edges(config.activation)
    xb, yb = data.batch(0)
    out = {}
    for name, net in nets.items():
        res = {}

        def probe_forward():
            trace = []
            with probes.restoring(net), torch.no_grad():
                net(data.x_probe, trace)
            return trace
        trace = probe_forward()

        def summaries():
            s = [probes.layer_summary(t["pre"], config.probe_unit, config.percentiles, edges,
                                      config.activation) for t in trace]
            h = [probes.histogram_counts(t["bn_in"], edges) for t in trace if "bn_in" in t]
            return s, h

        def forward_only():
            t = []
            with torch.no_grad():
                net(data.x_probe, t)

        def restoring_only():
            with probes.restoring(net):
                pass

        def evaluate():
            net.eval()
            with torch.no_grad():
                for x, y in data.eval_sets.values():
                    logits = net(x)
                    float(probes.loss_of(logits, y, False))
                    probes.accuracy(logits, y)
            net.train()

        res["probe_forward_ms (restoring + train-mode forward with trace)"] = _ms(probe_forward,
                                                                                  repeats)
        res["  of which restoring (state_dict clone + copy back)"] = _ms(restoring_only, repeats)
        res["  of which forward"] = _ms(forward_only, repeats)
        res["layer_summaries_ms"] = _ms(summaries, repeats)
        res["gradient_norms_ms"] = _ms(lambda: probes.gradient_norms(
            [p.detach() for p in net.weight_tensors()]), repeats)
        res["evaluate_ms (all eval sets)"] = _ms(evaluate, repeats)

        def evaluate_without_heldout():
            net.eval()
            with torch.no_grad():
                for key, (x, y) in data.eval_sets.items():
                    if key != "heldout":
                        logits = net(x)
                        float(probes.loss_of(logits, y, False))
                        probes.accuracy(logits, y)
            net.train()
        res["  cheaper: evaluate without the held-out forward (a plain net's equals the probe's)"] \
            = _ms(evaluate_without_heldout, repeats)
        for res_px, grid in data.grids.items():
            res[f"decision_grid_{res_px}_ms"] = _ms(
                lambda g=grid, r=res_px: probes.decision_grid(net, g, r), repeats)
        res["ics_and_landscape_ms"] = _ms(lambda: (
            probes.internal_covariate_shift(net, xb, yb, config.effective_lr),
            probes.loss_landscape(net, xb, yb, [s * config.effective_lr
                                                for s in (0.05, 0.1, 0.2, 0.4)])),
            max(1, repeats // 5))
        out[name] = res
    per_probe_round = 0.0
    for res in out.values():
        per_probe_round += res["probe_forward_ms (restoring + train-mode forward with trace)"] \
            + res["layer_summaries_ms"] + res["evaluate_ms (all eval sets)"]
        if config.grid_resolution in data.grids:
            per_probe_round += res[f"decision_grid_{config.grid_resolution}_ms"]
    every = min(config.probe_every, config.eval_every)
    return {"config": which, "per_net_ms": out,
            "probe+evaluate(+grid) per twin probe step, ms": round(per_probe_round, 2),
            "probe_every": config.probe_every, "eval_every": config.eval_every,
            "amortised_us_per_twin_step": round(per_probe_round * 1e3 / every, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default="fig1,toy")
    parser.add_argument("--variants", default="abcde")
    parser.add_argument("--chunk", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parts", default="steps,probes,procs")
    parser.add_argument("--proc-window", type=float, default=8.0,
                        help="seconds of training per layout in the procs part")
    parser.add_argument("--proc-variant", default="c")
    parser.add_argument("--run-steps", type=int, default=50_000)
    parser.add_argument("--run-net", default="fig1")
    parser.add_argument("--twin-steps", type=int, default=3000,
                        help="engine part: steps of the in-process Figure 1 twin and bare loop")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    result = {"load_before": os.getloadavg()[0], "torch": torch.__version__}
    for which in args.nets.split(","):
        if which not in CONFIGS:
            parser.error(f"--nets: unknown net {which!r}; allowed: {', '.join(CONFIGS)}")
        if "steps" in parts:
            result[f"steps_{which}"] = bench_steps(which, args.variants.replace(",", ""),
                                                   args.chunk, args.repeats)
            print(json.dumps(result[f"steps_{which}"]), file=sys.stderr)
        if "single" in parts:
            for kind in CONFIGS[which]().nets:
                result[f"single_{which}_{kind}"] = bench_steps(which, "ac", args.chunk,
                                                               args.repeats, kind)
                print(json.dumps(result[f"single_{which}_{kind}"]), file=sys.stderr)
        if "probes" in parts:
            result[f"probes_{which}"] = bench_probes(which, 20)
    if "run" in parts:
        for variant in args.proc_variant.split(","):
            result[f"run_{args.run_net}_{variant}"] = bench_run(args.run_net, variant,
                                                                  args.run_steps)
            print(json.dumps(result[f"run_{args.run_net}_{variant}"]), file=sys.stderr)
    if "engine" in parts:
        result["engine"] = bench_engine(args.run_steps, args.twin_steps, args.repeats)
    if "procs" in parts:
        for variant in args.proc_variant.split(","):
            result[f"procs_fig1_{variant}"] = bench_procs("fig1", variant, args.proc_window,
                                                          max(1, args.repeats // 3))
            print(json.dumps(result[f"procs_fig1_{variant}"]), file=sys.stderr)
    result["load_after"] = os.getloadavg()[0]
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
