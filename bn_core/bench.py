"""`python -m bn_core bench`: the twin run's speed against a bare PyTorch loop, in one process.

Everything is measured in the same process and run, so the ratio is meaningful on a shared,
noisy machine even when absolute numbers drift.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bn_core.config import RunConfig
from bn_core.nets.models import initial_weights
from bn_core.engine.run import Run
from bn_core.engine.training import BatchSchedule, Trainer, prepare
from bn_core.nets.models import build_twins

BENCH_STEPS = 3000


def bare_net(config: RunConfig, bn: bool, weights) -> nn.Sequential:
    """The same architecture as a textbook nn.Sequential, from the same initial weights."""
    layers, dims = [], [weights[0].shape[1]] + [config.width] * config.depth
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}
    for i in range(config.depth):
        lin = nn.Linear(dims[i], dims[i + 1], bias=not bn)
        with torch.no_grad():
            lin.weight.copy_(weights[i])
            if lin.bias is not None:
                lin.bias.zero_()
        layers += [lin] + ([nn.BatchNorm1d(config.width)] if bn else []) + [act[config.activation]()]
    out = nn.Linear(config.width, weights[-1].shape[0])
    with torch.no_grad():
        out.weight.copy_(weights[-1])
        out.bias.zero_()
    return nn.Sequential(*layers, out)


def bare_loop(config: RunConfig, setup, bn: bool) -> float:
    """Seconds for `config.steps` plain eager-PyTorch SGD steps on the run's batch sequence."""
    weights = initial_weights(config, setup.x_train.shape[1], setup.n_outputs)
    net = bare_net(config, bn, weights)
    opt = torch.optim.SGD(net.parameters(), lr=config.effective_lr, momentum=config.momentum)
    schedule = BatchSchedule(setup.data.y_train, config.batch_size, config.shuffle, config.seed)
    started = time.perf_counter()
    for step in range(config.steps):
        idx = schedule.indices(step)
        loss = F.cross_entropy(net(setup.x_train[idx]), setup.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - started


def _time(fn, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def probe_costs(config: RunConfig) -> dict:
    """Milliseconds per call of each probe, per net, on the config's data."""
    setup = prepare(config)
    nets = build_twins(config, setup.x_train.shape[1], setup.n_outputs)
    out = {}
    for name, net in nets.items():
        t = Trainer(name, net, setup, config)
        xb, yb = setup.x_train[:config.batch_size], setup.y_train[:config.batch_size]
        out[name] = {
            "probe_ms": round(1000 * _time(lambda: t.probe(1, None), 10), 3),
            "evaluate_ms": round(1000 * _time(lambda: t.evaluate(1), 10), 3),
            "ics_and_landscape_ms": round(1000 * _time(lambda: t.measure_ics(1, xb, yb), 3), 3),
            "drain_ms": round(1000 * _time(t.drain, 100), 4),
        }
    return out


def run_bench(steps: int = BENCH_STEPS, data: str = "mnist-subset") -> dict:
    """Twin run (with probes at the default cadence) vs the bare sequential loop."""
    torch.set_num_threads(1)
    config = RunConfig(dataset=data, depth=3, width=100, activation="sigmoid", batch_size=60,
                       lr=0.5, steps=steps)
    setup = prepare(config)
    bare_loop(config.replace(steps=200), setup, False)  # warm-up
    plain_s = bare_loop(config, setup, False)
    bn_s = bare_loop(config, setup, True)
    run = Run(config)
    started = time.perf_counter()
    run.start()
    snap_ms = []
    while not run.wait(0.2):
        t0 = time.perf_counter()
        run.snapshot()
        snap_ms.append(1000 * (time.perf_counter() - t0))
    twin_s = time.perf_counter() - started
    snap = run.snapshot()
    history_bytes = run.record.nbytes
    twin_rate = snap.steps_per_sec  # steps over the run's active training time
    sequential_rate = steps / (plain_s + bn_s)
    toy = RunConfig(dataset="moons", steps=steps, width=100, depth=3)
    return {
        "steps": steps,
        "data": data,
        "torch_threads": torch.get_num_threads(),
        "probe_every": config.probe_every,
        "eval_every": config.eval_every,
        "bare_plain_steps_per_s": round(steps / plain_s, 1),
        "bare_bn_steps_per_s": round(steps / bn_s, 1),
        "bare_sequential_twin_steps_per_s": round(sequential_rate, 1),
        "twin_run_steps_per_s": round(twin_rate, 1),
        "twin_run_wall_s_incl_data_and_start": round(twin_s, 3),
        "ratio_twin_over_bare_sequential": round(twin_rate / sequential_rate, 3),
        "twin_run_status": snap.status,
        "snapshot_read_ms_median": round(float(np.median(snap_ms)), 4) if snap_ms else None,
        "snapshot_read_ms_max": round(float(np.max(snap_ms)), 4) if snap_ms else None,
        "recorded_history_bytes": int(history_bytes),
        "probe_costs_mnist": probe_costs(config),
        "probe_costs_moons_with_grid": probe_costs(toy),
    }
