"""Tests for bn_core.lessons.conv_bn: the CNN's extra records (per-channel statistics over
N, H, W, feature maps), the T12 reshape check, and the sentences from a real run."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bn_core.engine.training import train_to_end
from bn_core.lessons import conv_bn as cb
from bn_core.nets.models import build_twins


def cnn(kind="bn", **changes):
    config = cb.CNN_TWINS.replace(**changes)
    return config, build_twins(config.replace(nets=(kind,)), 784, 10)[kind]


def digits(n=4, seed=0):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


def test_the_presets_are_the_lessons_cnns():
    for c, act in ((cb.CNN_TWINS, "sigmoid"), (cb.CNN_TWINS_RELU, "relu")):
        assert (c.arch, c.depth, c.width, c.batch_size, c.nets, c.activation) == \
            ("cnn", 2, 8, 32, ("plain", "bn"), act)


@pytest.mark.parametrize("layer,expected", [(0, 32 * 28 * 28), (1, 32 * 14 * 14)])
def test_values_per_channel_is_the_batch_times_the_maps_area(layer, expected):
    assert cb.values_per_channel(cb.CNN_TWINS, layer) == expected


def test_channel_records_give_per_channel_rows_and_the_first_images_maps():
    _, net = cnn()
    x = digits()
    trace: list = []
    with torch.no_grad():
        net(x, trace)
    row, latest = cb.channel_records(trace)
    assert set(row) == set(cb.CHANNEL_KEYS)
    assert all(v.shape == (2, 8) and v.dtype == np.float32 for v in row.values())
    conv = torch.nn.functional.conv2d(x.reshape(-1, 1, 28, 28), net.linears[0].weight, None,
                                      padding=1)
    np.testing.assert_allclose(row["channel_mean"][0], conv.mean((0, 2, 3)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(row["pre_channel_var"][0], 1.0, atol=1e-3)  # BN: gamma = 1
    assert [m.shape for m in latest["maps"]] == [(8, 28, 28), (8, 14, 14)]
    mlp_trace: list = []
    build_twins(cb.CNN_TWINS.replace(arch="mlp", width=8), 784, 10)["bn"](x, mlp_trace)
    assert cb.channel_records(mlp_trace) == ({}, {})


def test_feature_maps_use_eval_mode_and_leave_the_net_as_it_was():
    sigmoid_maps = cb.feature_maps(cnn()[1], digits(1)[0].numpy())
    assert all(((m > 0) & (m < 1)).all() for m in sigmoid_maps)
    _, net = cnn(activation="relu")
    net.train()
    image = digits(1)[0].numpy()
    maps = cb.feature_maps(net, image)
    assert net.training and [m.shape for m in maps] == [(8, 28, 28), (8, 14, 14)]
    assert (maps[0] >= 0).all()  # ReLU outputs
    # eval mode with fresh running statistics (0, 1): BN is almost the identity
    conv = torch.nn.functional.conv2d(torch.as_tensor(image).reshape(1, 1, 28, 28),
                                      net.linears[0].weight, None, padding=1)
    np.testing.assert_allclose(maps[0], torch.relu(conv / math.sqrt(1 + 1e-5))[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_reshape_check_agrees_and_catches_a_wrong_layer(monkeypatch):
    _, net = cnn()
    before = [t.clone() for t in net.state_dict().values()]
    check = cb.reshape_check(net, digits(6))
    assert check.agrees and max(check.max_abs_diff) < 1e-5
    assert check.values_per_channel == [6 * 28 * 28, 6 * 14 * 14]
    assert all(torch.equal(a, b) for a, b in zip(before, net.state_dict().values()))
    norm = net.norms[1]
    original = type(norm).forward
    monkeypatch.setattr(norm, "forward", lambda z: original(norm, z) + 0.01)
    bad = cb.reshape_check(net, digits(6))
    assert not bad.agrees and bad.max_abs_diff[1] == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(ValueError, match="no BN layers"):
        cb.reshape_check(cnn("plain")[1], digits())


def test_a_real_cnn_run_gives_channel_rows_and_findings(no_leaked_threads):
    config = cb.CNN_TWINS.replace(steps=120, probe_every=40, eval_every=40, heldout_size=100,
                                  width=4, batch_size=16)
    snap = train_to_end(config)
    rows = cb.channel_rows(snap.nets["bn"], 0)
    assert [r["channel"] for r in rows] == [0, 1, 2, 3]
    assert all(math.isfinite(r["running_var"]) and r["batch_var"] > 0 for r in rows)
    assert cb.channel_rows(snap.nets["plain"], 0) == []
    text = cb.findings(snap)
    assert text[0].startswith("Each BN statistic of conv layer 1 is taken over N x H x W = "
                              "12,544 values per channel")
    assert any(t.startswith("Held-out accuracy at step 120: BN") for t in text)
    assert any(t.startswith("Channel 0's input to the nonlinearity") for t in text)
    check = cb.channel_affine(snap.nets["bn"], 0)
    assert check.probes == 4 and check.holds and check.batch_mean_range > 0
    assert any(t.startswith("**T12 in the live run**: in the BN net, channel 0's conv output")
               for t in text)
    assert cb.channel_affine(snap.nets["plain"], 0) is None


def test_channel_affine_reports_a_mismatch():
    from bn_core.engine.training import NetView

    ones = np.ones((3, 2), np.float32)
    probes = {"step": np.array([0, 10, 20]), "beta": ones * 0.5, "gamma": ones * 2.0,
              "unit_mean": ones * 0.5, "unit_var": ones * 4.0,
              "bn_batch_mean": np.array([[np.nan, 0], [1.0, 0], [3.0, 0]], np.float32)}
    view = NetView(name="bn", label="BN", status="finished", step=20, diverged_at=None,
                   probes=probes, evals={}, ics={}, latest={}, initial_grid=None)
    good = cb.channel_affine(view, 0)
    assert good.holds and good.batch_mean_range == pytest.approx(2.0) and good.probes == 3
    probes["unit_var"] = ones * 4.4
    bad = cb.channel_affine(view, 0)
    assert not bad.holds and bad.max_var_error == pytest.approx(0.1, rel=1e-5)


@pytest.mark.slow
def test_the_lessons_claims_hold_in_quick_mode_on_seed_0(no_leaked_threads):
    results = cb.claims(seeds=(0,), quick=True)
    assert results and all(set(r) == {"claim", "values", "holds"} for r in results)
    for r in results:
        assert list(r["values"]) == [0], r["claim"]
        assert r["holds"] is True, (r["claim"], r["values"])
