"""`python -m bn_core.lesson_bench`: speed of the three newer lessons' runs, as JSON.

What it measures, one torch thread, in one process:
- the CNN twins (plain + BatchNorm2d, batch 32): the bare lockstep training step (both nets'
  losses summed, one autograd call, SGD: what the engine's loop does), interleaved in chunks with
  the Figure 1 MLP twins' step so their ratio is meaningful on a loaded machine; then the
  engine's run of the cnn-twins preset with its probes, and the cost of each probe;
- the four-net which-part run (Figure 1 net) through the engine;
- the whole default batch-size sweep (7 runs of 3 nets) through the engine, per batch size.
The machine's load average is printed before and after: absolute rates drift with it.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from bn_core.config import RunConfig
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.training import SGD, BatchSchedule, Trainer, prepare, train_to_end
from bn_core.nets.models import build_twins
from bn_core.presets import PRESETS

CHUNK_STEPS = 100
ROUNDS = 5


def _lockstep(config: RunConfig, setup):
    """A function that trains the config's nets one lockstep step per call (no probes)."""
    nets = build_twins(config, setup.x_train.shape[1], setup.n_outputs)
    params = [[p for p in n.parameters() if p.requires_grad] for n in nets.values()]
    opts = [SGD(p, config.effective_lr) for p in params]
    schedule = BatchSchedule(setup.data.y_train, config.batch_size, 1.0, config.seed)
    flat = [p for ps in params for p in ps]
    state = {"step": 0}

    def step():
        idx = schedule.indices(state["step"])
        state["step"] += 1
        xb, yb = setup.x_train[idx], setup.y_train[idx]
        loss = sum(F.cross_entropy(n(xb), yb) for n in nets.values())
        grads = torch.autograd.grad(loss, flat)
        offset = 0
        for opt, ps in zip(opts, params):
            opt.step(grads[offset:offset + len(ps)])
            offset += len(ps)
    return step


def interleaved_rates(configs: dict, rounds: int = ROUNDS, chunk: int = CHUNK_STEPS) -> dict:
    """Lockstep steps/s of each config, measured in alternating chunks: min/median/max."""
    steppers = {name: _lockstep(c, prepare(c)) for name, c in configs.items()}
    for fn in steppers.values():
        for _ in range(10):
            fn()
    rates = {name: [] for name in configs}
    for _ in range(rounds):
        for name, fn in steppers.items():
            t0 = time.perf_counter()
            for _ in range(chunk):
                fn()
            rates[name].append(chunk / (time.perf_counter() - t0))
    return {name: [round(min(r), 1), round(statistics.median(r), 1), round(max(r), 1)]
            for name, r in rates.items()}


def probe_costs(config: RunConfig) -> dict:
    """Milliseconds per probe and per evaluation of each net (median of 3)."""
    setup = prepare(config)
    out = {}
    for name, net in build_twins(config, setup.x_train.shape[1], setup.n_outputs).items():
        t = Trainer(name, net, setup, config, DEFAULT_CAPACITY)
        probe, evaluate = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            t.probe(1, None)
            probe.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            t.evaluate(1)
            evaluate.append(time.perf_counter() - t0)
        out[name] = {"probe_ms": round(1000 * statistics.median(probe), 1),
                     "evaluate_ms": round(1000 * statistics.median(evaluate), 1)}
    return out


def engine_run(config: RunConfig) -> dict:
    """Wall time and the run's own steps/s (over its active training time) through the engine."""
    t0 = time.perf_counter()
    snap = train_to_end(config)
    return {"steps": config.steps, "wall_s": round(time.perf_counter() - t0, 2),
            "steps_per_s": round(snap.steps_per_sec, 1), "status": snap.status}


def run() -> dict:
    from bn_core.lessons import small_batches

    torch.set_num_threads(1)
    out = {"load_before": [round(v, 2) for v in os.getloadavg()]}
    cnn = PRESETS["cnn-twins"].config
    fig1 = PRESETS["figure1"].config.replace(nets=("plain", "bn"))
    out["lockstep_twin_steps_per_s_min_med_max"] = interleaved_rates(
        {"cnn_twins_batch32": cnn, "figure1_mlp_twins_batch60": fig1})
    out["cnn_probe_costs"] = probe_costs(cnn)
    out["cnn_twins_engine_preset"] = engine_run(cnn)
    out["cnn_twins_engine_no_probes"] = engine_run(cnn.replace(steps=600, probe_every=10_000,
                                                               eval_every=10_000))
    out["which_part_figure1_engine"] = engine_run(
        PRESETS["which-part-figure1"].config.replace(steps=1000))
    sweep, total = {}, time.perf_counter()
    for config in small_batches.sweep_configs():
        sweep[config.batch_size] = engine_run(config)
    out["sweep_per_batch_size"] = sweep
    out["sweep_total_wall_s"] = round(time.perf_counter() - total, 1)
    out["load_after"] = [round(v, 2) for v in os.getloadavg()]
    return out


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=1)
    print()
