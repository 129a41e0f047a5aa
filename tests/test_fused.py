"""FusedTwinStep gives the autograd lockstep step's results, up to float32 rounding.

The reference is the engine's own computation (Run._train's few lines, copied below, since
training.py is being rewritten). "Up to rounding" is checked against a float64 run of the same
reference: after N steps every loss, weight, BN gamma/beta and running statistic, and gradient
of the fused step must be within 1e-5 (relative to the tensor's scale) of the float32 autograd
run, plus four times the float32 autograd run's own distance from float64 so far (some BN nets,
e.g. with batches of 2, amplify rounding within tens of steps: autograd's as much as ours).
"""
from __future__ import annotations

import copy
import math

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


def test_plain_nets_ignore_bn_placement():
    """Placement only matters to BN nets: plain nets with placement 'after' are fused."""
    config = RunConfig(**TOY, nets=("plain",), placement="after", activation="sigmoid", depth=2)
    assert can_fuse(config, build_twins(config, 2, 2))
