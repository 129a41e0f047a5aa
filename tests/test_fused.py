"""FusedTwinStep gives the autograd lockstep step's results, up to float32 rounding.

The reference is the engine's own computation (Run._train's few lines, copied below, since
training.py is being rewritten). "Up to rounding" is checked against a float64 run of the same
reference: after N steps every loss, weight, BN gamma/beta and running statistic, and gradient
of the fused step must be within 1e-5 (relative to the tensor's scale) of the float32 autograd
run, plus four times the float32 autograd run's own distance from float64 so far (some BN nets,
e.g. with batches of 2, amplify rounding within tens of steps: autograd's as much as ours).
The trainer tests at the end train whole runs through TrainingJob with the fused step and with
autograd and compare every record they hand out, with a float64 run as the same yardstick.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from bn_core.config import RunConfig
from bn_core.data.datasets import batch_order, build_toy_dataset
from bn_core.nets import probes
from bn_core.nets.fused import FusedTwinStep, can_fuse, fuse_refusal
from bn_core.nets.models import MLP, build_twins

REL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One thread, as the trainer runs: two OpenMP threads on a loaded 2-core machine make
    these tiny matmuls ~20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class SGD:
    """bn_core.engine.training.SGD, copied (the module is being rewritten)."""

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


def reference_step(nets, opts, xb, yb, regression, traces=None):
    """Run._train's lockstep step: losses, autograd.grad of their sum, SGD per net."""
    params = [[p for p in n.parameters() if p.requires_grad] for n in nets]
    traces = traces or [None] * len(nets)
    losses = [probes.loss_of(n(xb, tr), yb, regression) for n, tr in zip(nets, traces)]
    values = torch.stack([l.detach() for l in losses]).tolist()
    grads = torch.autograd.grad(sum(losses), [p for ps in params for p in ps])
    out, offset = [], 0
    for opt, ps in zip(opts, params):
        g = grads[offset:offset + len(ps)]
        opt.step(g)
        out.append(g)
        offset += len(ps)
    return values, out


def toy_data(config, n=300):
    data = build_toy_dataset(config.dataset, n_samples=n, noise=0.2, seed=config.seed)
    return (torch.from_numpy(data.model_input(data.x_train)),
            torch.from_numpy(np.asarray(data.y_train, np.int64)), data.n_classes)


def deep_linear_data(n=400, dim=10, seed=0):
    rng = np.random.default_rng([seed, 99])
    a = rng.standard_normal((dim, dim))
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy((x @ a.T).astype(np.float32)), dim


def batches(x, y, batch_size, steps, seed=0):
    """The run's batch sequence (batch_order epochs, as the engine's BatchSchedule)."""
    labels = y.numpy() if y.dim() == 1 else np.zeros(len(y), np.int64)
    per_epoch = len(labels) // batch_size
    out, order = [], None
    for step in range(steps):
        epoch, b = divmod(step, per_epoch)
        if b == 0 or order is None:
            order = torch.from_numpy(batch_order(labels, 1.0, seed, epoch))
        idx = order[b * batch_size:(b + 1) * batch_size]
        out.append((x.index_select(0, idx), y.index_select(0, idx)))
    return out


def train_three_ways(config, x, y, n_out, steps, want_grads=False, batch_sizes=None):
    """(float32 autograd, fused, float64 autograd): per way the nets, the per-step losses and
    the gradients of the steps that want them (`want_grads`: True, False or a set of steps)."""
    regression = config.is_regression
    seq = batches(x, y, config.batch_size, steps, config.seed)
    if batch_sizes:  # vary the batch size along the way
        seq = [(xb[:batch_sizes[i % len(batch_sizes)]], yb[:batch_sizes[i % len(batch_sizes)]])
               for i, (xb, yb) in enumerate(seq)]
    wanted = set(range(steps)) if want_grads is True else set(want_grads or ())
    results = {}
    for way in ("autograd", "fused", "float64"):
        nets = list(build_twins(config, x.shape[1], n_out).values())
        if way == "float64":
            nets = [n.double() for n in nets]
        opts = [SGD([p for p in n.parameters() if p.requires_grad], config.effective_lr,
                    config.momentum) for n in nets]
        fused = FusedTwinStep(nets, opts, config) if way == "fused" else None
        losses, grads = [], {}
        for step, (xb, yb) in enumerate(seq):
            if way == "float64":
                xb, yb = xb.double(), (yb.double() if regression else yb)
            if fused is not None:
                values, g = fused.step(xb, yb, want_grads=step in wanted)
                assert (g is None) == (step not in wanted)
            else:
                values, g = reference_step(nets, opts, xb, yb, regression)
            if step in wanted:
                grads[step] = g
            losses.append(values)
        results[way] = (nets, np.array(losses, np.float64), grads)
    return results


def rel_err(t, ref) -> float:
    """max |t - ref| relative to the reference tensor's scale (its largest magnitude)."""
    return float((t.double() - ref.double()).abs().max()) / max(float(ref.abs().max()), 1e-3)


def assert_same_up_to_rounding(results, well_conditioned: float = 1e-3):
    """Fused within REL + 4 x (autograd's own worst relative distance from float64, over the
    net's tensors) of float32 autograd: losses per step, final weights, BN statistics, and the
    gradients of every step that asked for them. The case must be one where rounding does not
    snowball (autograd's own distance < `well_conditioned`), or the check would say little."""
    (na, la, ga), (nf, lf, gf), (nd, ld, gd) = (results[k]
                                                for k in ("autograd", "fused", "float64"))
    own_loss = np.maximum.accumulate(np.abs(la - ld), axis=0)  # per step and net, so far
    allowed = 4 * own_loss + REL * np.maximum(np.abs(la), 1e-3)
    assert np.all(np.abs(lf - la) <= allowed), f"losses differ: {np.abs(lf - la).max()}"
    for a, f, d in zip(na, nf, nd):
        sa, sf, sd = a.state_dict(), f.state_dict(), d.state_dict()
        assert sa.keys() == sf.keys()
        floats = [k for k in sa if sa[k].is_floating_point()]
        own = max(rel_err(sa[k], sd[k]) for k in floats)
        assert own < well_conditioned, f"rounding snowballs here (autograd vs float64: {own:.2g})"
        for key in sa:
            if key not in floats:
                assert torch.equal(sa[key], sf[key]), key  # num_batches_tracked: untouched
                continue
            err = rel_err(sf[key], sa[key])
            assert err <= REL + 4 * own, f"{key}: fused differs from autograd by {err:.3g} " \
                f"(relative; autograd's own rounding vs float64 up to {own:.3g})"
    assert gf.keys() == ga.keys()
    own = [0.0] * len(na)
    for step in sorted(ga):
        for k, (a_net, f_net, d_net) in enumerate(zip(ga[step], gf[step], gd[step])):
            assert len(a_net) == len(f_net)
            own[k] = max([own[k]] + [rel_err(ta, td) for ta, td in zip(a_net, d_net)])
            for i, (ta, tf) in enumerate(zip(a_net, f_net)):
                err = rel_err(tf, ta)
                assert err <= REL + 4 * own[k], f"step {step} net {k} grad {i}: fused differs " \
                    f"by {err:.3g} (relative; autograd's own rounding so far {own[k]:.3g})"


TOY = dict(dataset="moons", n_samples=300, width=16, lr=0.5, batch_size=30, seed=0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("depth", [1, 4])
def test_activations_and_depths(activation, depth):
    lr = 0.05 if activation == "linear" else 0.5
    config = RunConfig(**{**TOY, "lr": lr}, activation=activation, depth=depth)
    x, y, n_out = toy_data(config)
    assert can_fuse(config, build_twins(config, 2, n_out))
    assert_same_up_to_rounding(train_three_ways(config, x, y, n_out, 50))


@pytest.mark.parametrize("affine", ["learnable", "frozen"])
@pytest.mark.parametrize("batch_size, nets, steps", [
    (2, ("plain",), 50),      # BN's gradient through a batch of 2 is zero up to rounding noise
    (3, ("plain", "bn"), 10),  # and a batch of 3 amplifies it: float32 autograd is 2.5e-4
    (7, ("plain", "bn"), 50),  # from float64 after 20 steps, 0.17 after 50
    (60, ("plain", "bn"), 50)])
def test_affine_modes_and_batch_sizes(affine, batch_size, nets, steps):
    config = RunConfig(**{**TOY, "batch_size": batch_size}, nets=nets, activation="sigmoid",
                       depth=3, affine=affine, gamma_value=1.5, beta_value=0.3)
    x, y, n_out = toy_data(config)
    assert_same_up_to_rounding(train_three_ways(config, x, y, n_out, steps, want_grads=True))


def test_gradients_returned_in_parameter_order_and_momentum_shared():
    """want_grads: per net, the gradients in the order of its trainable parameters; with the
    trainer's SGD objects their momentum buffers are the ones updated."""
    config = RunConfig(**{**TOY, "lr": 0.05}, activation="tanh", depth=3, momentum=0.9)
    x, y, n_out = toy_data(config)
    results = train_three_ways(config, x, y, n_out, 50, want_grads=True)
    assert_same_up_to_rounding(results)
    nets, _, grads = results["fused"]
    for net, g in zip(nets, grads[49]):
        params = [p for p in net.parameters() if p.requires_grad]
        assert [t.shape for t in g] == [p.shape for p in params]


def test_mixed_fast_and_gradient_steps():
    """Steps without gradients (the fast path) and with them (probe steps) interleave."""
    config = RunConfig(**TOY, activation="sigmoid", depth=3)
    x, y, n_out = toy_data(config)
    assert_same_up_to_rounding(train_three_ways(config, x, y, n_out, 40,
                                                want_grads=set(range(3, 40, 7))))


def test_varying_batch_size():
    config = RunConfig(**TOY, activation="sigmoid", depth=2)
    x, y, n_out = toy_data(config)
    assert_same_up_to_rounding(
        train_three_ways(config, x, y, n_out, 30, batch_sizes=[30, 17, 30, 5]))


def test_deep_linear_regression():
    config = RunConfig(dataset="deep-linear", nets=("plain", "bn"), depth=6, width=10,
                       activation="linear", lr=0.01, batch_size=32, seed=0)
    x, y, n_out = deep_linear_data()
    assert can_fuse(config, build_twins(config, 10, n_out))
    assert_same_up_to_rounding(train_three_ways(config, x, y, n_out, 50, want_grads=True))


def test_figure1_net_on_mnist():
    from bn_core.data.mnist import load_mnist
    data = load_mnist("mnist-subset")
    x = torch.from_numpy(data.model_input(data.x_train[:1200]))
    y = torch.from_numpy(np.asarray(data.y_train[:1200], np.int64))
    config = RunConfig(dataset="mnist-subset", depth=3, width=100, activation="sigmoid",
                       batch_size=60, lr=0.5)
    assert_same_up_to_rounding(train_three_ways(config, x, y, 10, 50, want_grads=True))


@pytest.mark.parametrize("nets", [("bn",), ("plain",), ("bn", "plain")])
def test_one_net_or_either_order(nets):
    config = RunConfig(**TOY, nets=nets, activation="relu", depth=2)
    x, y, n_out = toy_data(config)
    assert_same_up_to_rounding(train_three_ways(config, x, y, n_out, 40))


def test_traces_match_the_model_forward():
    """traces=[...]: what MLP.forward(x, trace) records (the probe step's BN batch statistics
    come from it), before the update."""
    config = RunConfig(**TOY, activation="sigmoid", depth=3)
    x, y, n_out = toy_data(config)
    nets = list(build_twins(config, 2, n_out).values())
    copies = copy.deepcopy(nets)
    xb, yb = x[:30], y[:30]
    expected = []
    for net in copies:
        trace = []
        with torch.no_grad():
            net(xb, trace)
        expected.append(trace)
    traces = [[] for _ in nets]
    FusedTwinStep(nets, [0.5] * len(nets), config).step(xb, yb, traces=traces)
    for got, want in zip(traces, expected):
        assert len(got) == len(want) == config.depth
        for g, w in zip(got, want):
            assert g.keys() == w.keys()
            for key in w:
                torch.testing.assert_close(g[key], w[key], rtol=1e-5, atol=1e-6)


def test_a_net_with_a_non_finite_loss_is_not_updated():
    config = RunConfig(**TOY, activation="sigmoid", depth=2)
    x, y, n_out = toy_data(config)
    nets = list(build_twins(config, 2, n_out).values())
    ref = copy.deepcopy(nets[1])
    with torch.no_grad():
        nets[0].output.weight[0, 0] = math.inf
    before = [t.clone() for t in nets[0].parameters()]
    opts = [SGD([p for p in ref.parameters() if p.requires_grad], 0.5)]
    xb, yb = x[:30], y[:30]
    losses, grads = FusedTwinStep(nets, [0.5, 0.5], config).step(xb, yb, want_grads=True)
    assert not math.isfinite(losses[0]) and grads[0] is None
    for b, p in zip(before, nets[0].parameters()):
        assert torch.equal(b, p) or (b.isnan() == p.isnan()).all()
    reference_step([ref], opts, xb, yb, False)
    for (key, ta), tf in zip(ref.state_dict().items(), nets[1].state_dict().values()):
        torch.testing.assert_close(tf, ta, rtol=1e-5, atol=1e-7, msg=key)


def test_parameters_whose_storage_was_replaced_are_still_trained():
    config = RunConfig(**TOY, activation="sigmoid", depth=2, nets=("plain",))
    x, y, n_out = toy_data(config)
    net = build_twins(config, 2, n_out)["plain"]
    ref = copy.deepcopy(net)
    fused = FusedTwinStep([net], [0.5], config)
    opts = [SGD([p for p in ref.parameters() if p.requires_grad], 0.5)]
    for step, (xb, yb) in enumerate(batches(x, y, 30, 10)):
        if step == 5:
            for p in net.parameters():
                p.data = p.data.clone()
        fused.step(xb, yb)
        reference_step([ref], opts, xb, yb, False)
    for (key, ta), tf in zip(ref.state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(tf, ta, rtol=1e-5, atol=1e-7, msg=key)


def test_batch_of_one_with_bn_fails_as_batch_norm_does():
    config = RunConfig(**TOY, activation="sigmoid", depth=2)
    x, y, n_out = toy_data(config)
    nets = list(build_twins(config, 2, n_out).values())
    with pytest.raises(ValueError) as autograd_error:
        nets[1](x[:1])
    with pytest.raises(ValueError) as fused_error:
        FusedTwinStep(nets, [0.5, 0.5], config).step(x[:1], y[:1])
    assert str(fused_error.value) == str(autograd_error.value)


@pytest.mark.parametrize("changes, reason", [
    (dict(nets=("plain", "noisy_bn")), "noise"),
    (dict(nets=("noisy_plain",)), "noise"),
    (dict(dropout=0.2), "dropout"),
    (dict(placement="after"), "after"),
    (dict(affine="undo"), "undo"),
])
def test_rejects_what_it_does_not_compute(changes, reason):
    config = RunConfig(**{**TOY, **changes}, activation="sigmoid", depth=2)
    nets = build_twins(config, 2, 2)
    assert not can_fuse(config, nets)
    assert reason in fuse_refusal(config, nets)
    with pytest.raises(ValueError, match="cannot train"):
        FusedTwinStep(list(nets.values()), [0.5] * len(nets), config)


def test_rejects_nets_it_cannot_see_into():
    config = RunConfig(**TOY, activation="sigmoid", depth=2)
    nets = build_twins(config, 2, 2)
    assert not can_fuse(config, [torch.nn.Linear(2, 2)])
    assert not can_fuse(config, [])
    eval_net = copy.deepcopy(nets["bn"]).eval()
    assert not can_fuse(config, [eval_net])
    assert not can_fuse(config, [copy.deepcopy(nets["plain"]).double()])
    frozen_weight = copy.deepcopy(nets["plain"])
    frozen_weight.linears[0].weight.requires_grad_(False)
    assert not can_fuse(config, [frozen_weight])
    other_act = MLP(2, 2, 2, 16, "tanh")
    assert not can_fuse(config, [other_act])
    layer_norm = MLP(2, 2, 2, 16, "sigmoid", norm="layernorm")
    assert "layernorm" in fuse_refusal(config, [layer_norm])


def test_plain_nets_ignore_bn_placement():
    """Placement only matters to BN nets: plain nets with placement 'after' are fused."""
    config = RunConfig(**TOY, nets=("plain",), placement="after", activation="sigmoid", depth=2)
    assert can_fuse(config, build_twins(config, 2, 2))


# ---------------------------------------------------------------------------- in the trainer

def job_updates(config, fused, float64=False):
    """Every update a TrainingJob hands out (what the pages' records are built from), training
    `config` to the end in slices of 37 steps, with the fused step or with autograd; with
    `float64`, autograd on float64 copies of the same nets and data (the rounding yardstick)."""
    from bn_core.engine import training
    patches = pytest.MonkeyPatch()
    if float64:
        prepare, build = training.prepare, training.build_twins

        def wide(t):
            return t.double() if torch.is_tensor(t) and t.is_floating_point() else t

        def prepare64(cfg):
            setup = prepare(cfg)
            return dataclasses.replace(
                setup, x_train=wide(setup.x_train), y_train=wide(setup.y_train),
                x_probe=wide(setup.x_probe), grid=wide(setup.grid),
                eval_sets={k: (wide(x), wide(y)) for k, (x, y) in setup.eval_sets.items()})
        patches.setattr(training, "prepare", prepare64)
        patches.setattr(training, "build_twins", lambda *a: {
            k: n.double() for k, n in build(*a).items()})
    try:
        job = training.TrainingJob(config, fused=fused and not float64)
        job.load()
        updates = [job.drain()]
        while not job.done:
            job.advance(37)
            updates.append(job.drain())
    finally:
        patches.undo()
    return updates, job.fused_steps, job


def _leaves(tree, path=""):
    """(path, value) of every leaf of an update, in order (rows in the order recorded)."""
    if isinstance(tree, dict):
        for k in tree:
            yield from _leaves(tree[k], f"{path}.{k}")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, tree


def _series(path: str) -> str:
    """What a leaf is a value of, whatever its update and row: 'nets.bn.rows.probes.hist'."""
    return re.sub(r"^\[\d+\]|\[\d+\]", "", path)


def assert_records_equal_up_to_rounding(fused, autograd, float64, only=""):
    """Same structure and equal statuses, steps and strings; every number of fused within
    REL (relative to its array's scale) plus 4x autograd's own relative distance from float64
    so far in the same series (as assert_same_up_to_rounding); counts (histograms) may move
    4 values plus 4x what float64 moves; accuracies and fractions of units may differ by one
    example or unit (1/100) beyond that. Returns autograd's largest relative distance from
    float64 over the continuous series (small: the case is one where rounding does not
    snowball, or the comparison would say little)."""
    own: dict[str, float] = {}
    la, lf, ld = (list(_leaves(u)) for u in (autograd, fused, float64))
    assert [p for p, _ in lf] == [p for p, _ in la]
    if only:  # the leaves whose path has `only` in it
        la, lf, ld = ([leaf for leaf in leaves if only in leaf[0]] for leaves in (la, lf, ld))
    assert [p for p, _ in ld] == [p for p, _ in la]
    for (path, a), (_, f), (_, d) in zip(la, lf, ld):
        key = _series(path)
        if key in (".elapsed", ".steps_per_sec"):  # wall-clock figures, not records
            continue
        if not isinstance(a, (np.ndarray, float, np.floating)) and not torch.is_tensor(a):
            assert f == a, f"{path}: {f!r} (fused) vs {a!r} (autograd)"
            continue
        a, f, d = (np.asarray(v) for v in (a, f, d))
        assert a.shape == f.shape == d.shape and a.dtype == f.dtype, path
        if a.dtype.kind in "iub":
            moved = float(np.abs(f.astype(np.int64) - a.astype(np.int64)).sum())
            own[key] = max(own.get(key, 0.0),
                           float(np.abs(d.astype(np.int64) - a.astype(np.int64)).sum()))
            assert moved <= 4 + 4 * own[key], f"{path}: counts differ by {moved}"
            continue
        nan = np.isnan(a)
        assert np.array_equal(nan, np.isnan(f)), f"{path}: NaNs differ"
        a, f, d = (v[~nan].astype(np.float64) for v in (a, f, d))
        scale = max(float(np.abs(a).max(initial=0.0)), 1e-3)
        own[key] = max(own.get(key, 0.0), float(np.abs(d - a).max(initial=0.0)) / scale)
        allowed = (REL + 4 * own[key]) * scale + (0.01 if _discrete(key) else 0.0)
        err = float(np.abs(f - a).max(initial=0.0))
        assert err <= allowed, f"{path}: fused differs from autograd by {err:.3g} > " \
            f"{allowed:.3g} (autograd's own relative distance from float64: {own[key]:.3g})"
    return max([v for k, v in own.items() if not _discrete(k) and ".ics." not in k],
               default=0.0)  # ICS and landscape: differences of gradients, rounding-bound


def _discrete(key: str) -> bool:
    """Series that count (accuracies, fractions of units, histograms): rounding can move a
    value across a threshold, so their distance from float64 says nothing of conditioning."""
    name = key.rsplit(".", 1)[-1]
    return name.endswith("_acc") or name.endswith("acc_train_mode") or name in (
        "saturated", "linear_zone", "dead_units", "zero_outputs", "hist", "bn_hist", "grid")


TRAINER_CASES = {
    "home page toy, decision grid, ICS": dict(
        dataset="moons", n_samples=300, noise=0.2, depth=4, width=32, activation="sigmoid",
        lr=0.5, batch_size=30, steps=40, probe_every=10, eval_every=10, grid_resolution=12,
        ics_every=20),  # its BN net's rounding snowballs from step ~50 (float64 vs float32)
    "relu, momentum, frozen gamma, probe every step": dict(
        dataset="circles", n_samples=200, depth=3, width=16, activation="relu", lr=0.1,
        momentum=0.9, affine="frozen", gamma_value=1.5, batch_size=20, steps=60, probe_every=1,
        eval_every=7, grid_resolution=0),
    "tiny batches (BN's train-mode accuracy)": dict(
        dataset="moons", n_samples=200, depth=2, width=8, activation="tanh", lr=0.2,
        batch_size=4, steps=80, probe_every=10, eval_every=10, grid_resolution=0),
    "deep linear regression": dict(
        dataset="deep-linear", n_samples=400, depth=4, width=10, activation="linear", lr=0.01,
        batch_size=32, steps=100, probe_every=10, eval_every=10, grid_resolution=0),
    "Figure 1 net on MNIST": dict(
        dataset="mnist-subset", depth=3, width=100, activation="sigmoid", batch_size=60, lr=0.5,
        steps=250, probe_every=100, eval_every=50, heldout_size=300),
}


@pytest.mark.parametrize("case", TRAINER_CASES)
def test_the_trainer_records_the_same_with_the_fused_step_as_with_autograd(case):
    """The trainer uses the fused step where it can; every record it produces (losses,
    accuracies, probes, gradient norms of probe steps, BN statistics, ICS, decision grids,
    checkpoints) equals the autograd path's up to float32 rounding."""
    config = RunConfig(**TRAINER_CASES[case])
    fused, fused_steps, job = job_updates(config, True)
    plain, autograd_fused_steps, _ = job_updates(config, False)
    assert fused_steps == config.steps and job.fuse_refusal is None
    assert autograd_fused_steps == 0
    assert len(fused) == len(plain)
    own = assert_records_equal_up_to_rounding(fused, plain, job_updates(config, False, True)[0])
    print(f"{case}: autograd's largest relative distance from float64 {own:.2g}")
    assert own < 1e-2, f"rounding snowballs in this case (autograd vs float64: {own:.2g})"
    last = fused[-1]["nets"]
    assert set(last) == set(config.nets)
    assert all(u["status"] == "finished" for u in last.values())


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_a_net_diverges_at_the_same_step_with_the_fused_step():
    """The plain twin of tests/test_training.py's diverging run stops at the same step (the
    fused step then trains the BN net alone) and the BN net records the same."""
    config = RunConfig(dataset="moons", n_samples=400, noise=0.15, batch_size=60,
                       activation="relu", depth=3, width=16, lr=1.0, init_scale=3.0, steps=100,
                       probe_every=1, eval_every=1, grid_resolution=0, heldout_size=200,
                       nets=("plain", "bn"), seed=0)
    fused, fused_steps, job = job_updates(config, True)
    plain, _, _ = job_updates(config, False)
    assert fused_steps == config.steps

    def diverged(updates):
        return [u["nets"]["plain"]["diverged_at"] for u in updates
                if "plain" in u.get("nets", {})][-1]
    assert diverged(fused) == diverged(plain) is not None
    # float64 overflows later than float32, so only the BN net has a float64 yardstick
    assert_records_equal_up_to_rounding(fused, plain, job_updates(config, False, True)[0],
                                        only=".nets.bn.")


def test_runs_the_fused_step_cannot_train_step_with_autograd(monkeypatch):
    config = RunConfig(dataset="moons", n_samples=200, depth=2, width=8, batch_size=20,
                       steps=30, probe_every=10, eval_every=10, grid_resolution=0,
                       nets=("plain", "noisy_bn"))
    updates, fused_steps, job = job_updates(config, True)
    assert fused_steps == 0 and "noise" in job.fuse_refusal
    assert updates[-1]["status"] == "finished"
    from bn_core.engine import training
    monkeypatch.setenv(training.FUSED_ENV, "0")
    assert training.TrainingJob(config).use_fused is False
    monkeypatch.setenv(training.FUSED_ENV, "1")
    assert training.TrainingJob(config).use_fused is True
