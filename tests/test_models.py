"""Tests for bn_core/nets/models.py: twin nets, BN placement, gamma/beta modes, noise, init scale."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from bn_core.config import RunConfig
from bn_core.nets.models import BatchNorm, build_net, build_twins, init_std, initial_weights

ALL_NETS = ("plain", "bn", "noisy_bn", "noisy_plain")
EPS = 1e-5  # BatchNorm1d's default eps


def config(**changes) -> RunConfig:
    base = dict(dataset="moons", depth=3, width=16, activation="sigmoid", nets=ALL_NETS, seed=3)
    base.update(changes)
    return RunConfig(**base)


def batch(n=64, dim=2, seed=0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * 2 + 0.5


def test_twins_start_from_identical_linear_weights():
    nets = build_twins(config(), input_dim=2, n_outputs=2)
    assert set(nets) == set(ALL_NETS)
    ref = nets["plain"]
    for name, net in nets.items():
        assert net.depth == 3
        for a, b in zip(net.weight_tensors(), ref.weight_tensors()):
            assert torch.equal(a, b), name
        assert torch.equal(net.output.bias, torch.zeros(2))
    # and the weights are not all alike: they come from the seed
    other = build_twins(config(seed=4), 2, 2)["plain"]
    assert not torch.equal(other.linears[0].weight, ref.linears[0].weight)


def test_twins_are_independent_copies():
    nets = build_twins(config(), 2, 2)
    with torch.no_grad():
        nets["plain"].linears[0].weight.add_(1.0)
    assert not torch.equal(nets["plain"].linears[0].weight, nets["bn"].linears[0].weight)


def test_bias_is_dropped_only_when_bn_comes_before_the_nonlinearity():
    nets = build_twins(config(), 2, 2)
    for name in ("bn", "noisy_bn"):
        assert all(lin.bias is None for lin in nets[name].linears)
    for name in ("plain", "noisy_plain"):
        assert all(torch.equal(lin.bias, torch.zeros(16)) for lin in nets[name].linears)
    after = build_twins(config(placement="after"), 2, 2)
    assert all(lin.bias is not None for lin in after["bn"].linears)


def test_placement_before_normalises_the_linear_output():
    net = build_twins(config(nets=("bn",)), 2, 2)["bn"]
    trace: list = []
    net(batch(), trace)
    assert len(trace) == 3
    for layer in trace:
        assert torch.equal(layer["bn_in"], layer["z"])
        pre, var_b = layer["pre"], layer["z"].var(0, unbiased=False)
        torch.testing.assert_close(pre.mean(0), torch.zeros(16), atol=1e-5, rtol=0)
        # unit variance, up to BN's eps: var_B / (var_B + eps)
        torch.testing.assert_close(pre.var(0, unbiased=False), var_b / (var_b + EPS))


def test_placement_after_puts_bn_after_the_activation():
    net = build_twins(config(nets=("bn",), placement="after"), 2, 2)["bn"]
    x = batch()
    trace: list = []
    net(x, trace)
    for i, layer in enumerate(trace):
        assert torch.equal(layer["pre"], layer["z"])  # nothing between linear and sigmoid
        assert torch.equal(layer["bn_in"], torch.sigmoid(layer["pre"]))
        normalised = torch.nn.functional.batch_norm(layer["bn_in"], None, None, training=True)
        below = normalised if i + 1 < len(trace) else None
        if below is not None:  # the next layer reads BN(sigmoid(z)), not sigmoid(z)
            lin = net.linears[i + 1]
            torch.testing.assert_close(trace[i + 1]["z"], below @ lin.weight.T + lin.bias)


def test_plain_net_trace_has_no_bn_input():
    trace: list = []
    build_twins(config(nets=("plain",)), 2, 2)["plain"](batch(), trace)
    assert all("bn_in" not in layer and torch.equal(layer["z"], layer["pre"]) for layer in trace)


def test_frozen_gamma_and_beta_are_not_trainable_and_hold_the_set_values():
    cfg = config(nets=("bn",), affine="frozen", gamma_value=2.5, beta_value=-1.25)
    net = build_twins(cfg, 2, 2)["bn"]
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    for norm in net.norms:
        assert not norm.weight.requires_grad and not norm.bias.requires_grad
        assert id(norm.weight) not in trainable and id(norm.bias) not in trainable
        assert torch.equal(norm.weight, torch.full((16,), 2.5))
        assert torch.equal(norm.bias, torch.full((16,), -1.25))
    trace: list = []
    net(batch(), trace)
    for layer in trace:  # the nonlinearity sees mean beta, standard deviation gamma (up to eps)
        var_b = layer["z"].var(0, unbiased=False)
        torch.testing.assert_close(layer["pre"].mean(0), torch.full((16,), -1.25), atol=1e-4, rtol=0)
        torch.testing.assert_close(layer["pre"].std(0, unbiased=False),
                                   2.5 * torch.sqrt(var_b / (var_b + EPS)))


def test_learnable_gamma_and_beta_are_trainable():
    net = build_twins(config(nets=("bn",)), 2, 2)["bn"]
    for norm in net.norms:
        assert norm.weight.requires_grad and norm.bias.requires_grad


@pytest.mark.parametrize("placement", ["before", "after"])
def test_undo_makes_bn_the_identity_in_training_mode(placement):
    cfg = config(nets=("plain", "bn"), affine="undo", placement=placement)
    nets = build_twins(cfg, 2, 2)
    x = batch()
    trace: list = []
    out = nets["bn"](x, trace)
    for layer in trace:
        if placement == "before":
            torch.testing.assert_close(layer["pre"], layer["bn_in"], atol=1e-5, rtol=1e-5)
    # with zero biases, the BN net computes what the plain twin computes
    torch.testing.assert_close(out, nets["plain"](x), atol=1e-5, rtol=1e-5)
    assert all(not p.requires_grad for n in nets["bn"].norms for p in n.parameters())


def test_undo_is_also_the_identity_in_eval_mode():
    norm = BatchNorm(5, affine_mode="undo")
    for _ in range(3):
        norm(torch.randn(32, 5) * 3 + 2)
    norm.eval()
    z = torch.randn(8, 5) * 3 + 2
    torch.testing.assert_close(norm(z), z, atol=1e-5, rtol=1e-5)


def test_noisy_bn_changes_its_output_between_calls_in_training_mode_only():
    nets = build_twins(config(), 2, 2)
    x = batch()
    for name in ("noisy_bn", "noisy_plain"):
        net = nets[name]
        assert not torch.equal(net(x), net(x)), name
        net.eval()
        assert torch.equal(net(x), net(x)), name
    for name in ("plain", "bn"):  # the clean nets are deterministic in both modes
        assert torch.equal(nets[name](x), nets[name](x))
    # without noise, noisy BN in eval mode is BN in eval mode (fresh twins: same running stats)
    fresh = build_twins(config(), 2, 2)
    fresh["bn"].eval(), fresh["noisy_bn"].eval()
    assert torch.equal(fresh["noisy_bn"](x), fresh["bn"](x))


def test_noise_has_the_documented_statistics():
    """a <- s * a + m with mu_t ~ U(-0.5, 0.5), sigma_t ~ U(1, 1.25), m ~ U(mu_t +- 0.1),
    s ~ N(sigma_t, 0.1); the same generator state gives the same draws, so s and m separate."""
    net = build_twins(config(nets=("noisy_bn",), depth=1, width=512), 2, 2)["noisy_bn"]
    noise, gen = net.noises[0], net.generator
    for _ in range(5):
        state = gen.get_state()
        m = noise(torch.zeros(400, 512))
        gen.set_state(state)
        s = noise(torch.ones(400, 512)) - m
        mu_t = float(m.mean())
        assert -0.5 - 1e-3 <= mu_t <= 0.5 + 1e-3
        assert float((m - mu_t).abs().max()) <= 0.1 + 1e-3
        assert 1.0 - 1e-2 <= float(s.mean()) <= 1.25 + 1e-2
        assert abs(float(s.std()) - 0.1) < 0.005
    assert not torch.equal(noise(torch.zeros(4, 512)), noise(torch.zeros(4, 512)))


def test_the_noise_sequence_is_reproducible_from_the_seed():
    x = batch()
    a = build_twins(config(nets=("noisy_bn",)), 2, 2)["noisy_bn"]
    b = build_twins(config(nets=("noisy_bn",)), 2, 2)["noisy_bn"]
    for _ in range(3):
        assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_init_scale_sets_the_weight_std(scale):
    cfg = config(width=256, depth=2, init="scaled", init_scale=scale)
    weights = initial_weights(cfg, input_dim=2, n_outputs=10)
    assert [tuple(w.shape) for w in weights] == [(256, 2), (256, 256), (10, 256)]
    expected = [scale / math.sqrt(fan_in) for fan_in in (2, 256, 256)]
    tolerance = [0.1, 0.02, 0.08]  # relative; 512, 65536 and 2560 samples
    for w, std, tol in zip(weights, expected, tolerance):
        assert abs(float(w.std()) / std - 1) < tol
        assert abs(float(w.mean())) < 3 * std / math.sqrt(w.numel())
    net = build_net("bn", cfg, 2, 10, weights)
    assert torch.equal(net.linears[1].weight, weights[1])


def test_dropout_is_active_only_in_training_mode():
    net = build_twins(config(nets=("plain",), dropout=0.5), 2, 2)["plain"]
    x = batch()
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


def test_our_bn_layer_matches_torch_batchnorm1d():
    torch.manual_seed(0)
    ours, ref = BatchNorm(6), nn.BatchNorm1d(6)
    with torch.no_grad():
        for layer in (ours, ref):
            layer.weight.copy_(torch.linspace(0.5, 2.0, 6))
            layer.bias.copy_(torch.linspace(-1.0, 1.0, 6))
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(20, 6, generator=g) * 4 + 3
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = ours(xa), ref(xb)
        torch.testing.assert_close(ya, yb)
        (ya * torch.arange(6.0)).sum().backward()
        (yb * torch.arange(6.0)).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad)
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
    assert float(ours.running_mean.abs().max()) > 0.5  # the running stats did move
    ours.eval(), ref.eval()
    x = torch.randn(7, 6, generator=g)
    torch.testing.assert_close(ours(x), ref(x))


def test_the_nets_bn_layers_update_their_running_statistics_like_torch():
    cfg = config(nets=("bn",), depth=2, width=8)
    net = build_twins(cfg, 2, 2)["bn"]
    refs = [nn.BatchNorm1d(8) for _ in net.norms]
    x = batch()
    for _ in range(3):
        trace: list = []
        net(x, trace)
        for layer, ref in zip(trace, refs):
            ref(layer["bn_in"].detach())
    for norm, ref in zip(net.norms, refs):
        torch.testing.assert_close(norm.running_mean, ref.running_mean)
        torch.testing.assert_close(norm.running_var, ref.running_var)


@pytest.mark.parametrize("init, variance", [
    ("default", lambda fi, fo: 1 / fi), ("he", lambda fi, fo: 2 / fi),
    ("xavier", lambda fi, fo: 2 / (fi + fo)), ("small", lambda fi, fo: 1e-4)])
def test_named_inits_draw_the_variance_their_name_says(init, variance):
    weights = initial_weights(config(width=256, depth=2, init=init), input_dim=2, n_outputs=10)
    for w, tol in zip(weights, (0.1, 0.02, 0.08)):
        fan_out, fan_in = w.shape
        assert abs(float(w.var()) / variance(fan_in, fan_out) - 1) < 2 * tol


def test_he_is_scale_sqrt2_not_2():
    """The old presets called scale 2 "He": its variance is 4/fan_in, twice He's."""
    assert init_std("he", 100, 100) == pytest.approx(init_std("scaled", 100, 100, math.sqrt(2)))
    assert init_std("scaled", 100, 100, 2.0) ** 2 == pytest.approx(4 / 100)
    with pytest.raises(ValueError, match="init"):
        init_std("glorot", 100, 100)


def test_default_and_scale_1_are_the_same_net_as_before():
    a = initial_weights(config(init="default"), 2, 2)
    b = initial_weights(config(init="scaled", init_scale=1.0), 2, 2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
