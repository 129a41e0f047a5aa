"""Tests for bn_core/nets/probes.py: percentiles, histograms, zones, ICS, loss landscape, grids."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bn_core.nets import probes
from bn_core.config import RunConfig
from bn_core.nets.models import build_twins

ALL_NETS = ("plain", "bn", "noisy_bn", "noisy_plain")


def make_nets(**changes):
    base = dict(dataset="moons", depth=3, width=12, activation="sigmoid", nets=ALL_NETS, seed=1)
    base.update(changes)
    return build_twins(RunConfig(**base), input_dim=2, n_outputs=3)


def make_batch(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return x, y


def state_of(net):
    """Everything a probe must leave alone: parameters, buffers, grads, noise state, mode."""
    return ({k: v.detach().clone() for k, v in net.state_dict().items()},
            [None if p.grad is None else p.grad.clone() for p in net.parameters()],
            net.generator.get_state().clone(), net.training)


def assert_same_state(a, b):
    (sa, ga, gen_a, mode_a), (sb, gb, gen_b, mode_b) = a, b
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert all((x is None and y is None) or torch.equal(x, y) for x, y in zip(ga, gb))
    assert torch.equal(gen_a, gen_b)
    assert mode_a == mode_b


# ---------------------------------------------------------------------------- summaries

@pytest.mark.parametrize("qs", [(15, 50, 85), (0, 100), (2.5, 33.3, 97.5)])
def test_percentiles_match_numpy(qs):
    values = np.random.default_rng(0).standard_normal((300, 7)) * 3 + 1
    got = probes.percentiles(values, qs)
    assert got.dtype == np.float32 and got.shape == (len(qs),)
    np.testing.assert_allclose(got, np.percentile(values.ravel(), qs), rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(got) >= 0)


def test_percentiles_of_a_torch_tensor_and_of_a_known_set():
    np.testing.assert_array_equal(probes.percentiles(torch.arange(101.0), (15, 50, 85)),
                                  [15.0, 50.0, 85.0])


def test_histogram_counts_sum_to_n_times_d_with_outliers_in_the_end_bins():
    edges = probes.histogram_edges("sigmoid")
    assert len(edges) == probes.HISTOGRAM_BINS + 1 and (edges[0], edges[-1]) == (-10.0, 10.0)
    values = np.random.default_rng(1).standard_normal((250, 12)) * 6
    values[0, :3] = [-50.0, -1e30, -np.inf]
    values[1, :4] = [50.0, 1e30, np.inf, 10.0]
    counts = probes.histogram_counts(values, edges)
    assert counts.shape == (probes.HISTOGRAM_BINS,)
    assert counts.sum() == values.size
    inside = np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))
    np.testing.assert_array_equal(counts, np.histogram(inside, edges)[0])
    below = np.count_nonzero(values < edges[0])
    above = np.count_nonzero(values >= edges[-1])
    assert counts[0] >= below >= 3 and counts[-1] >= above >= 4


def test_huge_positive_values_go_to_the_last_bin():
    edges = probes.histogram_edges("relu")
    counts = probes.histogram_counts([1e20, 1e30, np.inf, 3e38], edges)
    assert counts[-1] == 4 and counts.sum() == 4


def test_pooled_sample_is_strided_and_bounded():
    values = np.arange(100_000.0).reshape(1000, 100)
    sample = probes.pooled_sample(values, limit=20_000)
    assert len(sample) <= 20_000
    np.testing.assert_array_equal(sample, values.ravel()[::5])
    small = np.arange(10.0)
    np.testing.assert_array_equal(probes.pooled_sample(small), small)


def test_sigmoid_zones_on_constructed_inputs():
    pre = np.array([[-5.0, -4.5, 4.5, 5.0, 0.0],
                    [0.5, -0.5, 2.0, -2.0, 3.0]])  # 4 saturated, 3 near-linear of 10
    zones = probes.zone_fractions(pre, "sigmoid")
    assert zones["saturated"] == pytest.approx(0.4)
    assert zones["linear_zone"] == pytest.approx(0.3)
    assert math.isnan(zones["dead_units"]) and math.isnan(zones["zero_outputs"])
    edge = probes.zone_fractions(np.array([[4.0, 1.0]]), "sigmoid")  # the boundaries are open
    assert edge["saturated"] == 0.0 and edge["linear_zone"] == 0.0


def test_tanh_zones_use_their_own_thresholds():
    zones = probes.zone_fractions(np.array([[2.5, -0.25, 1.0, -3.0]]), "tanh")
    assert zones["saturated"] == pytest.approx(0.5) and zones["linear_zone"] == pytest.approx(0.25)


def test_relu_dead_units_on_constructed_inputs():
    pre = np.array([[-1.0, 0.0, 2.0, -3.0],
                    [-2.0, -1.0, -1.0, 1.0],
                    [-0.5, -4.0, -2.0, -1.0]])
    zones = probes.zone_fractions(pre, "relu")
    assert zones["dead_units"] == pytest.approx(0.5)  # units 0 and 1 never fire
    assert zones["zero_outputs"] == pytest.approx(10 / 12)
    assert math.isnan(zones["saturated"])


def test_layer_summary_of_one_layer():
    pre = torch.from_numpy(np.random.default_rng(2).standard_normal((200, 5)).astype(np.float32))
    edges = probes.histogram_edges("tanh")
    s = probes.layer_summary(pre, unit=3, qs=(15, 50, 85), edges=edges, activation="tanh")
    col = pre[:, 3].numpy()
    np.testing.assert_allclose(s["unit_pct"], np.percentile(col, (15, 50, 85)), rtol=1e-5)
    np.testing.assert_allclose(s["pooled_pct"], np.percentile(pre.numpy(), (15, 50, 85)), rtol=1e-5)
    assert s["unit_mean"] == pytest.approx(float(col.mean()), abs=1e-6)
    assert s["var"] == pytest.approx(float(pre.numpy().var()), rel=1e-5)
    assert s["hist"].sum() == 1000
    assert 0 < s["linear_zone"] < 1


def test_gradient_norms_and_accuracy():
    a, b = torch.ones(2, 2, requires_grad=True), torch.ones(3, requires_grad=True)
    (a.sum() * 2).backward()
    norms = probes.gradient_norms([a.grad, b.grad])
    assert norms[0] == pytest.approx(4.0) and math.isnan(norms[1])
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    assert probes.accuracy(logits, torch.tensor([0, 1, 1, 0])) == 0.5


# ---------------------------------------------------------------------------- ICS

@pytest.mark.parametrize("kind", ALL_NETS)
def test_internal_covariate_shift_per_layer(kind):
    net = make_nets(dropout=0.0)[kind]
    x, y = make_batch()
    before = state_of(net)
    dist, cos = probes.internal_covariate_shift(net, x, y, lr=0.5)
    assert_same_state(before, state_of(net))
    assert dist.shape == cos.shape == (net.depth + 1,)  # hidden layers and the output layer
    assert np.all(np.isfinite(dist)) and np.all(dist >= 0)
    assert np.all((cos >= -1) & (cos <= 1))
    # nothing below the first layer changes: G == G' exactly
    assert dist[0] == 0.0 and cos[0] == 1.0
    assert np.all(dist[1:] > 0)  # above it, the lower layers' step does shift the gradient


def test_internal_covariate_shift_first_layer_exact_with_dropout():
    net = make_nets(dropout=0.3)["noisy_bn"]
    x, y = make_batch()
    before = state_of(net)
    dist, cos = probes.internal_covariate_shift(net, x, y, lr=1.0)
    assert dist[0] == 0.0 and cos[0] == 1.0
    assert_same_state(before, state_of(net))


def test_internal_covariate_shift_matches_a_direct_computation():
    net = make_nets(depth=2)["bn"]
    x, y = make_batch()
    lr = 0.5
    params = [p for p in net.parameters() if p.requires_grad]
    grads = dict(zip(params, torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y),
                                                 params)))
    # layer 2 (index 1): step layer 1's weight, gamma and beta, then recompute layer 2's gradient
    lower = [net.linears[0].weight, net.norms[0].weight, net.norms[0].bias]
    saved = [p.detach().clone() for p in lower]
    with torch.no_grad():
        for p in lower:
            p.sub_(lr * grads[p])
    w = net.linears[1].weight
    g_new = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y), [w])[0]
    with torch.no_grad():
        for p, s in zip(lower, saved):
            p.copy_(s)
    # the running statistics moved in the passes above; the probe restores its own changes only
    dist, cos = probes.internal_covariate_shift(net, x, y, lr=lr)
    g_old = grads[w]
    assert dist[1] == pytest.approx(float((g_old - g_new).norm()), rel=1e-4)
    expected_cos = float((g_old * g_new).sum() / (g_old.norm() * g_new.norm()))
    assert cos[1] == pytest.approx(expected_cos, abs=1e-5)


# ---------------------------------------------------------------------------- landscape

@pytest.mark.parametrize("kind", ALL_NETS)
def test_loss_landscape_is_finite_and_leaves_the_net_unchanged(kind):
    net = make_nets()[kind]
    x, y = make_batch()
    before = state_of(net)
    out = probes.loss_landscape(net, x, y, step_sizes=[0.05, 0.1, 0.2, 0.4])
    assert set(out) == {"loss_range", "grad_change", "beta_smoothness", "scape_loss",
                        "scape_grad_change"}
    summaries = [out[k] for k in ("loss_range", "grad_change", "beta_smoothness")]
    assert all(math.isfinite(v) and v >= 0 for v in summaries)
    assert out["grad_change"] > 0
    assert out["scape_loss"].shape == out["scape_grad_change"].shape == (4,)
    assert out["grad_change"] == pytest.approx(float(out["scape_grad_change"].max()), rel=1e-6)
    assert out["loss_range"] == pytest.approx(float(np.ptp(out["scape_loss"])), rel=1e-5)
    assert_same_state(before, state_of(net))


def test_loss_landscape_range_on_a_linear_model():
    """For L(w) = (w - 3)^2 / 2 at w = 0 (g = -3): L(w - eta g) = (3 eta - 3)^2 / 2."""
    class Line(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.generator = torch.Generator()

        def forward(self, x):
            return self.w * x

    net = Line()
    x, y = torch.ones(1, 1), torch.full((1, 1), 3.0)
    out = probes.loss_landscape(net, x, y, [0.1, 0.5], regression=True)
    # mse with one element: L = (w - 3)^2, g = 2 (w - 3) = -6; L(0.6) = 5.76, L(3) = 0
    assert out["loss_range"] == pytest.approx(5.76, rel=1e-5)
    assert out["grad_change"] == pytest.approx(6.0, rel=1e-5)
    assert out["beta_smoothness"] == pytest.approx(2.0, rel=1e-5)  # the curvature of L
    assert out["scape_loss"].tolist() == pytest.approx([5.76, 0.0], abs=1e-5)
    assert out["scape_grad_change"].tolist() == pytest.approx([1.2, 6.0], rel=1e-5)
    assert net.w.item() == 0.0


def test_landscape_steps_reach_several_sgd_updates():
    """Santurkar et al.'s Fig. 4 moves up to about four SGD steps along the gradient; a
    fraction of one step only measures the gradient's size (the loss is locally quadratic)."""
    sizes = probes.LANDSCAPE_STEP_SIZES
    assert min(sizes) <= 0.25 and max(sizes) >= 4.0 and list(sizes) == sorted(sizes)


# ---------------------------------------------------------------------------- grids

@pytest.mark.parametrize("kind", ["plain", "bn", "noisy_bn"])
def test_decision_grid_shape_dtype_and_argmax(kind):
    net = make_nets()[kind]
    net.train()
    res = 9
    xs = torch.linspace(-2, 2, res)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    points = torch.stack([gx.ravel(), gy.ravel()], 1)
    before = state_of(net)
    grid = probes.decision_grid(net, points, res)
    assert grid.shape == (res, res, 2) and grid.dtype == np.uint8
    assert net.training  # the mode is put back
    assert_same_state(before, state_of(net))
    net.eval()
    with torch.no_grad():
        prob = torch.softmax(net(points), 1)
    np.testing.assert_array_equal(grid[..., 0], prob.argmax(1).reshape(res, res).numpy())
    np.testing.assert_array_equal(grid[..., 1],
                                  (prob.max(1).values * 255).round().reshape(res, res).numpy())
    assert grid[..., 1].min() >= 255 // 3  # 3 classes: the top probability is at least 1/3


def test_restoring_puts_back_parameters_buffers_and_noise():
    net = make_nets()["noisy_bn"]
    x, _ = make_batch()
    before = state_of(net)
    with probes.restoring(net) as restore:
        net(x)  # moves the running stats and the noise generator
        with torch.no_grad():
            net.linears[0].weight.add_(1.0)
        restore()
        assert_same_state(before, state_of(net))
        net(x)
    assert_same_state(before, state_of(net))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_layer_summaries_stack_what_layer_summary_gives_per_layer(activation):
    rng = np.random.default_rng(7)
    pres = [torch.from_numpy((rng.standard_normal((300, 16)) * s + m).astype(np.float32))
            for s, m in ((1.0, 0.0), (4.0, 2.0), (0.5, -1.0))]
    pres[1][:, 2] = 1e30  # outliers land in the end bins, as in layer_summary
    edges = probes.histogram_edges(activation)
    got = probes.layer_summaries(pres, unit=5, qs=(15, 50, 85), edges=edges,
                                 activation=activation)
    for i, pre in enumerate(pres):
        want = probes.layer_summary(pre, 5, (15, 50, 85), edges, activation)
        np.testing.assert_array_equal(got["hist"][i], want["hist"])
        np.testing.assert_allclose(got["unit_pct"][i], want["unit_pct"], rtol=1e-6)
        np.testing.assert_allclose(got["pooled_pct"][i], want["pooled_pct"], rtol=1e-6)
        for k in probes.SUMMARY_SCALARS:
            assert got[k].dtype == np.float32
            np.testing.assert_allclose(got[k][i], np.float32(want[k]), rtol=1e-5, equal_nan=True,
                                       err_msg=k)
    assert got["hist"].shape == (3, len(edges) - 1) and got["hist"].sum() == 3 * 300 * 16


def test_layer_summaries_of_layers_of_different_widths_fall_back_per_layer():
    rng = np.random.default_rng(8)
    pres = [rng.standard_normal((50, w)).astype(np.float32) for w in (4, 9)]
    edges = probes.histogram_edges("tanh")
    got = probes.layer_summaries(pres, 1, (50,), edges, "tanh")
    for i, pre in enumerate(pres):
        want = probes.layer_summary(pre, 1, (50,), edges, "tanh")
        np.testing.assert_array_equal(got["hist"][i], want["hist"])
        assert got["var"][i] == pytest.approx(want["var"], rel=1e-6)
