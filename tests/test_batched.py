"""Batched steps of several runs' nets (bn_core/nets/batched.py) and the host that groups runs
into them (bn_core/engine/host.py): each net gets what its own fused step gives, up to float32
rounding, whichever nets it shares a batch with; probe steps are taken alone; runs of other
architectures, momentum or regression are never batched."""
from __future__ import annotations

import copy
import dataclasses
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.config import RunConfig
from bn_core.engine.host import TrainingHost
from bn_core.engine.training import TrainingJob
from bn_core.nets.batched import BatchedStep, batch_signature
from bn_core.nets.fused import FusedTwinStep
from bn_core.nets.models import build_twins

REL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def toy_config(**changes) -> RunConfig:
    base = dict(dataset="moons", n_samples=300, noise=0.2, depth=2, width=16,
                activation="sigmoid", lr=0.3, batch_size=30, steps=200, probe_every=20,
                eval_every=20, grid_resolution=0, seed=0)
    base.update(changes)
    return RunConfig(**base)


def float64_step(net, lr, x, y):
    """Autograd SGD step of a float64 copy (the reference both float32 steps are held to)."""
    loss = F.cross_entropy(net(x.double()), y)
    params = [p for p in net.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g
    return loss.item()


def rel_err(t, ref) -> float:
    return float((t.double() - ref.double()).abs().max()) / max(float(ref.abs().max()), 1e-3)


@pytest.mark.parametrize("kind", ["plain", "bn"])
@pytest.mark.parametrize("activation,depth", [("sigmoid", 2), ("tanh", 1), ("relu", 2),
                                              ("linear", 1)])
def test_each_net_of_a_batch_gets_its_own_fused_step(kind, activation, depth):
    """Five nets (own seeds, learning rates and batches) stepped together for 40 steps: each
    within REL + 4 x (its fused step's own distance from float64) of its fused step, losses
    and every tensor of its state (running statistics too)."""
    configs = [toy_config(activation=activation, depth=depth, seed=s, lr=0.1 + 0.1 * s)
               for s in range(5)]
    nets = [build_twins(c, 2, 2)[kind] for c in configs]
    fused_nets = copy.deepcopy(nets)
    f64 = [copy.deepcopy(n).double() for n in nets]
    batched = BatchedStep(nets, [c.lr for c in configs])
    fused = [FusedTwinStep([n], [c.lr], c) for n, c in zip(fused_nets, configs)]
    gen = torch.Generator().manual_seed(1)
    lb, lf, ld = [], [], []
    for _ in range(40):
        xs = torch.randn(5, 30, 2, generator=gen)
        ys = torch.randint(0, 2, (5, 30), generator=gen)
        lb.append(batched.step(xs, ys))
        lf.append([f.step(xs[i], ys[i])[0][0] for i, f in enumerate(fused)])
        ld.append([float64_step(n, c.lr, xs[i], ys[i]) for i, (n, c) in enumerate(zip(f64, configs))])
    lb, lf, ld = (np.array(v) for v in (lb, lf, ld))
    own = np.maximum.accumulate(np.abs(lf - ld), axis=0)
    assert np.all(np.abs(lb - lf) <= 4 * own + REL * np.maximum(np.abs(lf), 1e-3)), \
        f"losses differ by up to {np.abs(lb - lf).max():.3g}"
    for b, f, d in zip(nets, fused_nets, f64):
        sb, sf, sd = b.state_dict(), f.state_dict(), d.state_dict()
        floats = [k for k in sb if sb[k].is_floating_point()]
        own_state = max(rel_err(sf[k], sd[k]) for k in floats)
        assert own_state < 1e-3, f"rounding snowballs here ({own_state:.2g}): a weak check"
        for k in sb:
            if k not in floats:
                assert torch.equal(sb[k], sf[k]), k  # num_batches_tracked, as the fused step
                continue
            assert rel_err(sb[k], sf[k]) <= REL + 4 * own_state, k
    assert not np.allclose(lb[0], lb[-1])  # they did learn


def test_a_net_whose_loss_is_not_finite_is_left_as_it_was_and_the_others_go_on():
    configs = [toy_config(seed=s) for s in range(3)]
    nets = [build_twins(c, 2, 2)["plain"] for c in configs]
    with torch.no_grad():
        nets[1].output.weight.fill_(math.inf)
    before = [copy.deepcopy(n.state_dict()) for n in nets]
    xs, ys = torch.randn(3, 30, 2), torch.randint(0, 2, (3, 30))
    losses = BatchedStep(nets, [0.5] * 3).step(xs, ys)
    assert math.isfinite(losses[0]) and not math.isfinite(losses[1]) and math.isfinite(losses[2])
    for k, t in nets[1].state_dict().items():
        assert torch.equal(t, before[1][k]) or (t.isnan() == before[1][k].isnan()).all(), k
    assert not torch.equal(nets[0].linears[0].weight, before[0]["linears.0.weight"])
    assert not torch.equal(nets[2].output.weight, before[2]["output.weight"])


def test_which_nets_may_share_a_batch():
    base = toy_config()
    net = build_twins(base, 2, 2)["bn"]
    sig = batch_signature(base, net)
    assert sig is not None
    assert batch_signature(toy_config(seed=3, lr=0.9, shuffle=0.0), build_twins(
        toy_config(seed=3), 2, 2)["bn"]) == sig  # seed, lr, data order: may share
    for changes in (dict(width=8), dict(depth=3), dict(activation="tanh"), dict(batch_size=20)):
        c = toy_config(**changes)
        assert batch_signature(c, build_twins(c, 2, 2)["bn"]) != sig, changes
    for changes in (dict(momentum=0.9), dict(nets=("plain", "noisy_bn"))):
        c = toy_config(**changes)
        assert all(batch_signature(c, n) is None for n in build_twins(c, 2, 2).values()
                   if n.norm or "momentum" in changes), changes


# ---------------------------------------------------------------------------- the host

def run_host(configs, batching: bool, pace: float = 3000.0):
    """Train the configs as paced runs on one host until all end; (per run its probe and
    eval rows per net, the jobs, the host)."""
    rows = {i: {} for i in range(len(configs))}
    jobs = {}

    def emit(key, update):
        for name, u in update.get("nets", {}).items():
            for kind in ("probes", "evals"):
                rows[int(key)].setdefault((name, kind), []).extend(u.get("rows", {}).get(kind, []))

    host = TrainingHost(emit)
    host.batching = batching
    for i, c in enumerate(configs):
        host.handle({"op": "start", "key": str(i), "config": c, "attempt": 1, "pace": pace})
        jobs[i] = host.jobs[str(i)].job
        jobs[i].load_cpu = jobs[i].cpu_seconds  # what load() took (not a step)
    deadline = time.monotonic() + 120
    while host.jobs and time.monotonic() < deadline:
        wait = host.work()
        if wait:
            time.sleep(min(wait, 0.005))
    assert not host.jobs, "the runs did not end in 120 s"
    return rows, jobs, host


def test_paced_runs_of_one_architecture_step_together_and_record_what_they_would_alone():
    # small steps of a one-layer net: BN's rounding does not snowball in 120 steps here, so
    # the records can be held close to what each run records alone
    configs = [toy_config(seed=s, depth=1, lr=0.05 + 0.02 * s, steps=120) for s in range(4)]
    alone, alone_jobs, alone_host = run_host(configs, batching=False)
    together, jobs, host = run_host(configs, batching=True)
    assert alone_host.batched_rounds == 0 and all(j.batched_steps == 0 for j in alone_jobs.values())
    assert host.batched_rounds > 0
    for i, job in jobs.items():
        assert job.status == "finished" and job.step == 120
        # every step that records nothing may be batched; probe/eval steps (6 of 120) never are
        assert 0 < job.batched_steps <= 120 - 120 // 20
        # the scheduler's step cost is the mean of cheap batched steps and dear probe steps
        # (a mean over a few slices saw mostly the cheap ones and let the host overcommit)
        mean = (job.cpu_seconds - job.load_cpu) / job.step
        assert 0.6 < job.step_cost / mean < 1.6, (job.step_cost, mean)
        for key, want in alone[i].items():
            got = together[i][key]
            assert [s for s, _ in got] == [s for s, _ in want], key
            for (_, a), (_, b) in zip(got, want):
                for field in ("loss", "heldout_loss", "mean", "var"):
                    if field in a:
                        np.testing.assert_allclose(a[field], b[field], rtol=2e-3, atol=1e-5,
                                                   err_msg=f"run {i} {key} {field}")


def test_runs_that_cannot_share_a_batch_step_alone():
    configs = [toy_config(seed=0), toy_config(seed=1, width=8), toy_config(seed=2, momentum=0.5)]
    _, jobs, host = run_host([dataclasses.replace(c, steps=60) for c in configs], batching=True)
    assert host.batched_rounds == 0
    assert all(j.batched_steps == 0 and j.status == "finished" for j in jobs.values())
