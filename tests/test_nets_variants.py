"""Tests for the net kinds added to bn_core/nets/models.py (normalise only, scale-and-shift only,
LayerNorm, GroupNorm) and the convolutional net: twins, what each layer computes, and training
through the real trainer."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.config import NET_KINDS, NET_LABELS, RunConfig
from bn_core.engine.training import train_to_end
from bn_core.lessons.inside_bn import channel_check
from bn_core.nets.models import (SEED_ORDER, Affine, BatchNorm, BatchNorm2d, ConvNet, GroupNorm,
                                 LayerNorm, build_twins, cnn_sides, group_count,
                                 initial_weights)

NEW_KINDS = ("norm_only", "affine_only", "layernorm", "groupnorm")
ALL_KINDS = NET_KINDS
EPS = 1e-5


def mlp_config(**changes) -> RunConfig:
    base = dict(dataset="moons", depth=3, width=12, activation="sigmoid", nets=ALL_KINDS, seed=3,
                groups=4)
    base.update(changes)
    return RunConfig(**base)


def cnn_config(**changes) -> RunConfig:
    base = dict(dataset="mnist-subset", arch="cnn", depth=2, width=8, activation="relu",
                nets=ALL_KINDS, seed=3)
    base.update(changes)
    return RunConfig(**base)


def images(n=6, seed=0) -> torch.Tensor:
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


def points(n=32, seed=0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 + 0.5


def test_every_kind_has_a_label_a_colour_and_a_stable_noise_seed_slot():
    from bn_core.figures.style import NET_COLORS, NET_DASH

    assert set(NET_KINDS) == set(NET_LABELS) == set(SEED_ORDER) == set(NET_COLORS) == \
        set(NET_DASH)
    assert len(set(NET_COLORS.values())) == len(NET_COLORS)
    # the kinds that existed first keep their slots, so their runs (noise included) are unchanged
    assert SEED_ORDER[:4] == ("plain", "bn", "noisy_bn", "noisy_plain")


@pytest.mark.parametrize("make", [mlp_config, cnn_config], ids=["mlp", "cnn"])
def test_all_kinds_are_twins_from_identical_weights(make):
    config = make()
    dim = 2 if config.arch == "mlp" else 784
    nets = build_twins(config, dim, 2 if dim == 2 else 10)
    assert set(nets) == set(ALL_KINDS)
    ref = nets["plain"].weight_tensors()
    weights = initial_weights(config, dim, 2 if dim == 2 else 10)
    for name, net in nets.items():
        assert net.depth == config.depth
        for a, b, w in zip(net.weight_tensors(), ref, weights):
            assert torch.equal(a, b) and torch.equal(a, w), name
    other = build_twins(make(seed=4), dim, 2 if dim == 2 else 10)["plain"]
    assert not torch.equal(other.weight_tensors()[0], ref[0])


def test_which_layers_keep_their_bias():
    nets = build_twins(mlp_config(), 2, 2)
    for name in ("bn", "noisy_bn", "norm_only", "affine_only"):  # beta replaces the bias
        assert all(lin.bias is None for lin in nets[name].linears), name
    for name in ("plain", "noisy_plain", "layernorm", "groupnorm"):
        assert all(lin.bias is not None for lin in nets[name].linears), name


def test_norm_only_normalises_with_gamma_one_and_beta_zero_frozen():
    net = build_twins(mlp_config(nets=("norm_only",), affine="learnable", gamma_value=3.0),
                      2, 2)["norm_only"]
    for norm in net.norms:
        assert isinstance(norm, BatchNorm) and norm.affine_mode == "frozen"
        assert torch.equal(norm.weight, torch.ones(12)) and torch.equal(norm.bias, torch.zeros(12))
        assert not norm.weight.requires_grad and not norm.bias.requires_grad
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    assert all(id(n.weight) not in trainable for n in net.norms)
    trace: list = []
    net(points(), trace)
    for layer in trace:
        var_b = layer["z"].var(0, unbiased=False)
        torch.testing.assert_close(layer["pre"].mean(0), torch.zeros(12), atol=1e-5, rtol=0)
        torch.testing.assert_close(layer["pre"].var(0, unbiased=False), var_b / (var_b + EPS))


def test_affine_only_scales_and_shifts_without_normalising():
    net = build_twins(mlp_config(nets=("affine_only",)), 2, 2)["affine_only"]
    assert all(isinstance(n, Affine) for n in net.norms)
    assert all(n.weight.requires_grad and n.bias.requires_grad for n in net.norms)
    with torch.no_grad():
        for i, norm in enumerate(net.norms):
            norm.weight.copy_(torch.linspace(0.5, 2.0, 12) * (i + 1))
            norm.bias.copy_(torch.linspace(-1.0, 1.0, 12))
    trace: list = []
    net(points(), trace)
    for i, layer in enumerate(trace):
        assert torch.equal(layer["bn_in"], layer["z"])
        expected = layer["z"] * net.norms[i].weight + net.norms[i].bias
        torch.testing.assert_close(layer["pre"], expected)
        assert float(layer["pre"].detach().mean(0).abs().max()) > 0.05  # no normalisation: means stay
    # at its initial gamma = 1, beta = 0 it is the plain net without biases
    fresh = build_twins(mlp_config(nets=("plain", "affine_only")), 2, 2)
    x = points()
    torch.testing.assert_close(fresh["affine_only"](x), fresh["plain"](x))


def test_affine_only_has_no_running_statistics():
    norm = Affine(5)
    assert torch.isnan(norm.running_mean).all() and torch.isnan(norm.running_var).all()
    assert norm.running_mean.shape == (5,)
    assert set(norm.state_dict()) == {"weight", "bias"}


def test_layernorm_and_groupnorm_layers_equal_torchs():
    x = torch.randn(7, 12, generator=torch.Generator().manual_seed(1)) * 3 + 2
    w, b = torch.linspace(0.5, 2, 12), torch.linspace(-1, 1, 12)
    ln, gn = LayerNorm(12), GroupNorm(12, 4)
    ref_ln, ref_gn = torch.nn.LayerNorm(12), torch.nn.GroupNorm(4, 12)
    with torch.no_grad():
        for ours, theirs in ((ln, ref_ln), (gn, ref_gn)):
            ours.weight.copy_(w), ours.bias.copy_(b)
            theirs.weight.copy_(w), theirs.bias.copy_(b)
    torch.testing.assert_close(ln(x), ref_ln(x))
    torch.testing.assert_close(gn(x), ref_gn(x))
    # on images: LayerNorm over (C, H, W) with per-channel gamma is GroupNorm with one group
    maps = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(2))
    ln4 = LayerNorm(4)
    plain_ln = F.layer_norm(maps, maps.shape[1:])
    torch.testing.assert_close(ln4(maps), plain_ln)


def test_layernorm_is_the_same_in_train_and_eval_mode_and_per_example():
    net = build_twins(mlp_config(nets=("layernorm", "groupnorm")), 2, 2)
    x = points()
    for name in ("layernorm", "groupnorm"):
        out_train = net[name].train()(x)
        out_eval = net[name].eval()(x)
        torch.testing.assert_close(out_train, out_eval)
        # one example's output does not depend on the rest of its batch
        torch.testing.assert_close(net[name](x[:1]), out_eval[:1])


@pytest.mark.parametrize("width,groups,expected", [(100, 4, 4), (30, 4, 3), (7, 4, 1),
                                                   (12, 12, 12), (8, 100, 8), (1, 4, 1)])
def test_group_count_is_the_largest_divisor_not_above_the_setting(width, groups, expected):
    assert group_count(width, groups) == expected


# ---------------------------------------------------------------------------- the CNN

def test_cnn_shapes_and_weight_scale():
    config = cnn_config(depth=3, width=6, init_scale=2.0)
    nets = build_twins(config, 784, 10)
    net = nets["bn"]
    assert isinstance(net, ConvNet) and cnn_sides(28, 3) == [28, 14, 7, 3]
    assert [tuple(w.shape) for w in net.weight_tensors()] == [(6, 1, 3, 3), (6, 6, 3, 3),
                                                               (6, 6, 3, 3), (10, 6 * 3 * 3)]
    assert all(isinstance(n, BatchNorm2d) for n in net.norms)
    assert net(images()).shape == (6, 10)
    big = initial_weights(cnn_config(width=32, init_scale=2.0), 784, 10)[1]
    assert abs(float(big.std()) - 2.0 / math.sqrt(32 * 9)) < 0.05 * 2.0 / math.sqrt(32 * 9)


def test_cnn_trace_is_t12s_reshape_and_bn_on_it_is_ordinary_bn():
    net = build_twins(cnn_config(nets=("bn",)), 784, 10)["bn"]
    x = images(5)
    trace: list = []
    net(x, trace)
    assert len(trace) == 2
    conv = F.conv2d(x.reshape(-1, 1, 28, 28), net.linears[0].weight, None, padding=1)
    flat = conv.permute(0, 2, 3, 1).reshape(-1, 8)
    first = trace[0]
    assert first["z"].shape == (5 * 28 * 28, 8) and trace[1]["z"].shape == (5 * 14 * 14, 8)
    torch.testing.assert_close(first["z"], flat)
    assert first["bn_in"] is first["z"]
    # BN2d's output, reshaped, equals ordinary BN of the (N*H*W, C) reshape (gamma 1, beta 0)
    torch.testing.assert_close(first["pre"], F.batch_norm(flat, None, None, training=True))
    # the same statistics as the from-scratch check of the Inside-BN lesson
    check = channel_check(conv.detach().double().numpy())
    assert check.max_abs_diff < 1e-9 and check.values_per_channel == 5 * 28 * 28
    np.testing.assert_allclose(first["channel_mean"].numpy(), check.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first["channel_var"].numpy(), check.var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first["pre_channel_mean"].numpy(), 0, atol=1e-5)
    # the first image's feature maps: the nonlinearity's output before pooling
    assert first["maps"].shape == (8, 28, 28)
    torch.testing.assert_close(first["maps"], torch.relu(first["pre"][:784]).reshape(28, 28, 8)
                               .permute(2, 0, 1))


def test_cnn_bn_layers_match_torch_batchnorm2d_with_running_statistics():
    ours = BatchNorm2d(3)
    theirs = torch.nn.BatchNorm2d(3)
    g = torch.Generator().manual_seed(5)
    for _ in range(4):
        x = torch.randn(4, 3, 5, 5, generator=g) * 2 + 1
        torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))


def test_cnn_undo_makes_bn_the_identity_per_channel():
    config = cnn_config(nets=("plain", "bn"), affine="undo")
    nets = build_twins(config, 784, 10)
    x = images()
    torch.testing.assert_close(nets["bn"](x), nets["plain"](x), atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------- training

def finite_records(view) -> None:
    assert view.status == "finished", view.status_text
    for column in ("heldout_acc", "heldout_loss", "train_loss"):
        assert np.isfinite(view.evals[column]).all(), column
    assert np.isfinite(view.probes["loss"][1:]).all()  # the step-0 probe has no training loss
    assert np.isfinite(view.probes["unit_pct"]).all()


def test_every_new_kind_trains_through_the_trainer_with_finite_records(no_leaked_threads):
    config = RunConfig(dataset="moons", n_samples=200, depth=2, width=8, groups=2,
                       nets=("plain", "bn") + NEW_KINDS, batch_size=20, lr=0.5, steps=60,
                       probe_every=20, eval_every=20, grid_resolution=10, heldout_size=100,
                       ics_every=30)
    snap = train_to_end(config)
    assert set(snap.nets) == set(config.nets)
    start_loss = math.log(2)
    for name, view in snap.nets.items():
        finite_records(view)
        assert view.evals["step"][-1] == 60
        assert float(view.evals["train_loss"][-1]) < start_loss, name  # it learned something
        assert np.isfinite(view.ics["cos"]).all()
    for name in ("norm_only", "bn"):  # BN layers keep running statistics, the others do not
        assert np.isfinite(snap.nets[name].probes["running_mean"]).all()
    for name in ("affine_only", "layernorm", "groupnorm"):
        assert np.isnan(snap.nets[name].probes["running_mean"]).all()
        assert np.isfinite(snap.nets[name].probes["gamma"]).all()
    gamma = snap.nets["norm_only"].probes["gamma"]
    assert np.all(gamma == 1.0)  # fixed
    assert np.any(snap.nets["affine_only"].probes["gamma"][-1] != 1.0)  # learned


def test_the_cnn_trains_through_the_trainer_beside_its_plain_twin(no_leaked_threads):
    config = cnn_config(nets=("plain", "bn", "groupnorm"), width=4, groups=2, batch_size=16,
                        lr=0.1, steps=40, probe_every=20, eval_every=20, heldout_size=50)
    snap = train_to_end(config)
    for name, view in snap.nets.items():
        finite_records(view)
        assert view.probes["unit_pct"].shape == (3, 2, 3)  # 3 probes, 2 conv layers, 3 pct
        assert view.probes["bn_hist"].shape[1] == 2
    bn = snap.nets["bn"].latest["bn"]
    assert len(bn) == 2 and bn[0]["batch_mean"].shape == (4,)  # one statistic per channel
