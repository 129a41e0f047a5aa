"""Tests for bn_core.lessons.small_batches: the sweep's configs, the statistics noise, the
sentences written from (hand-made and real) sweep results."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bn_core.config import NET_LABELS
from bn_core.engine.training import NetView, RunSnapshot, train_to_end
from bn_core.lessons import small_batches as sb
from bn_core.nets import probes


def test_every_run_of_the_sweep_sees_the_same_examples_at_a_linearly_scaled_rate():
    configs = sb.sweep_configs()
    assert [c.batch_size for c in configs] == [2, 4, 8, 16, 32, 64, 128]
    for c in configs:
        assert c.nets == ("bn", "layernorm", "groupnorm")
        assert c.steps == sb.SWEEP_EPOCHS * (4000 // c.batch_size)
        assert c.lr == pytest.approx(0.1 * c.batch_size / 32)
        assert c.steps // c.probe_every in (sb.RECORDS_PER_RUN, sb.RECORDS_PER_RUN + 1)
        assert c.eval_every == c.probe_every
    examples = [c.steps * c.batch_size for c in configs]
    assert max(examples) == 8000 and min(examples) >= 8000 - 2 * 128  # a partial batch dropped
    # the reference batch keeps the base rate; sizes are sorted and de-duplicated
    assert sb.sweep_config(32).lr == sb.LR_AT_REFERENCE
    assert [c.batch_size for c in sb.sweep_configs((8, 2, 8))] == [2, 8]


def test_a_batch_of_one_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="at least 2 values"):
        sb.sweep_config(1)


def test_statistics_noise_matches_sampling_theory():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((4000, 3)) * 3 + 5
    noise = sb.statistics_noise(values, sizes=(2, 8, 128), n_batches=3000, unit=1)
    n = 4000
    for i, m in enumerate((2, 8, 128)):
        # without replacement: var(mean) = var/m * (n - m)/(n - 1)
        expected = math.sqrt((n - m) / (n - 1) / m)
        assert noise.mean_spread[i] == pytest.approx(expected, rel=0.06)
        # the biased batch variance averages (m-1)/m of the population's: its median is below
        assert noise.var_ratio[i, 1] < 1.0
    assert noise.mean_spread[0] / noise.mean_spread[2] == pytest.approx(8.0, rel=0.1)
    assert noise.var_ratio[0, 0] < 0.01 < 0.7 < noise.var_ratio[2, 0]  # batches of 2: wild
    assert noise.population_var == pytest.approx(values[:, 1].var())
    text = sb.noise_sentence(noise)
    assert "batch of 2" in text and f"{noise.mean_spread[0]:.2f}" in text


@pytest.mark.parametrize("kwargs,words", [
    (dict(sizes=(1, 4)), "between 2 and"), (dict(sizes=(2, 5000)), "between 2 and"),
    (dict(unit=3), "unit"),
])
def test_statistics_noise_refuses_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        sb.statistics_noise(np.ones((100, 3)) + np.arange(100)[:, None], **kwargs)


def test_a_constant_unit_is_refused():
    with pytest.raises(ValueError, match="constant"):
        sb.statistics_noise(np.ones((50, 2)), sizes=(2,))


def test_unit_inputs_are_the_first_layers_linear_outputs_at_the_initial_weights():
    from bn_core.nets.models import initial_weights
    import torch

    x = torch.rand(20, 784, generator=torch.Generator().manual_seed(0))
    z = sb.unit_inputs(sb.SWEEP_BASE, x)
    w = initial_weights(sb.SWEEP_BASE, 784, 10)[0]
    np.testing.assert_allclose(z, (x @ w.T).numpy(), rtol=1e-5, atol=1e-5)
    assert sb.unit_inputs(sb.SWEEP_BASE, x, layer=2).shape == (20, 100)
    with pytest.raises(ValueError, match="layer"):
        sb.unit_inputs(sb.SWEEP_BASE, x, layer=3)


# ---------------------------------------------------------------------------- sentences

def view(name, acc, train_mode_loss, eval_loss, status="finished", train_mode_acc=None):
    evals = {"step": np.array([0, 100]), "heldout_acc": np.array([0.1, acc], np.float32),
             "train_loss": np.array([2.3, eval_loss], np.float32)}
    if train_mode_acc is not None:
        evals[sb.TRAIN_MODE_KEY] = np.array([0.1, train_mode_acc], np.float32)
    probes = {"step": np.array([0, 50, 100]),
              "loss": np.array([math.nan, train_mode_loss, train_mode_loss], np.float32)}
    return NetView(name=name, label=NET_LABELS[name], status=status, step=100, diverged_at=None,
                   probes=probes, evals=evals, ics={}, latest={}, initial_grid=None)


def point(m, accs, modes=None, status="finished", train_mode=None):
    modes = modes or {n: (0.3, 0.2) for n in accs}
    config = sb.sweep_config(m)
    nets = {n: view(n, a, *modes[n], train_mode_acc=(train_mode or {}).get(n))
            for n, a in accs.items()}
    snap = RunSnapshot(key=config.key(), config=config, status=status, message="", step=100,
                       total_steps=config.steps, steps_per_sec=0.0, elapsed=0.0, nets=nets,
                       edges=None, bn_edges=None, viewport=None, data=None, viewers=0)
    return sb.sweep_point(snap)


def test_findings_say_bn_degrades_when_it_does_and_not_for_layernorm():
    points = [point(2, {"bn": 0.40, "layernorm": 0.918, "groupnorm": 0.90},
                    {"bn": (2.08, 1.81), "layernorm": (0.26, 0.18), "groupnorm": (0.27, 0.18)}),
              point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916}),
              point(128, {"bn": 0.937, "layernorm": 0.817, "groupnorm": 0.891})]
    text = " ".join(sb.findings(points))
    assert "**BN**: held-out accuracy 94.7% at batch 32, 40.0% at batch 2: **54.7% lower**" in text
    assert "**LayerNorm**: held-out accuracy 90.2% at batch 32, 91.8% at batch 2" in text
    assert "about the same at batch 2 (+1.6%)" in text
    assert "GroupNorm" in text and "about the same at batch 2 (-1.6%)" in text
    assert "eval mode did better" in text and "0.270 for BN and only 0.080 for LayerNorm" in text
    assert "LayerNorm 81.7% (batch 128) to 91.8% (batch 2)" in text
    assert "At batch 128 each net took only 62 steps" in text
    table = sb.accuracy_table(points)
    np.testing.assert_allclose(table["bn"], [0.40, 0.947, 0.937], rtol=1e-6)


def test_findings_use_training_mode_accuracy_when_the_run_records_it():
    accs = {"bn": 0.40, "layernorm": 0.918, "groupnorm": 0.90}
    points = [point(2, accs, train_mode={"bn": 0.27, "layernorm": 0.918}),
              point(32, {"bn": 0.947, "layernorm": 0.902, "groupnorm": 0.916})]
    text = " ".join(sb.findings(points))
    assert ("**BN's two modes at batch 2**: held-out accuracy 40.0% in eval mode (running "
            "statistics), 27.0% in training mode") in text
    assert "eval mode is 13.0% better." in text
    assert "LayerNorm, which has no batch statistics: 91.8% and 91.8%." in text
    assert "loss on training digits" not in text  # the direct measure replaces the loss gap


def test_findings_wait_for_the_reference_and_ignore_unfinished_runs():
    running = point(2, {"bn": 0.2, "layernorm": 0.5, "groupnorm": 0.5}, status="running")
    assert sb.findings([running]) == []
    two = point(2, {"bn": 0.9, "layernorm": 0.9, "groupnorm": 0.9})
    assert sb.findings([two]) == ["The batch-32 run (the reference) has not finished yet."]
    table = sb.accuracy_table([running, point(32, {"bn": 0.9, "layernorm": 0.9,
                                                   "groupnorm": 0.9})])
    assert math.isnan(table["bn"][0]) and table["bn"][1] == pytest.approx(0.9)
    # BN as good at 2 as at 32: no claim of degradation is made
    text = " ".join(sb.findings([two, point(32, {"bn": 0.905, "layernorm": 0.9,
                                                 "groupnorm": 0.9})]))
    assert "lower" not in text and "about the same at batch 2" in text
    # a mode gap no larger than LayerNorm's is not read as one
    assert "do not separate a mode gap from the noise" in text


def test_a_real_tiny_sweep_runs_through_the_trainer(no_leaked_threads):
    base = sb.SWEEP_BASE.replace(depth=1, width=16, groups=4, heldout_size=100)
    configs = sb.sweep_configs((2, 32), base, epochs=0.05)  # 100 and 6 steps
    points = [sb.sweep_point(train_to_end(c)) for c in configs]
    assert [p.steps for p in points] == [100, 6] and all(p.finished for p in points)
    for p in points:
        for name, r in p.nets.items():
            assert 0.0 <= r.heldout_acc <= 1.0 and math.isfinite(r.train_mode_loss)
            assert math.isfinite(r.mode_gap) and r.step == p.steps
    assert len(sb.findings(points)) >= 3


def test_measure_modes_trains_exactly_as_the_run_does(no_leaked_threads):
    config = sb.sweep_config(4, sb.SWEEP_BASE.replace(depth=1, width=16, heldout_size=200),
                             epochs=0.05)
    snap = train_to_end(config)
    modes = sb.measure_modes(config)
    for name in ("bn", "layernorm"):
        # the same weights after the same steps: the run's own eval-mode accuracy
        assert modes[name]["eval_acc"] == pytest.approx(
            float(snap.nets[name].evals["heldout_acc"][-1]), abs=1e-6)
    assert modes["layernorm"]["train_mode_acc"] == modes["layernorm"]["eval_acc"]
    assert modes["bn"]["train_mode_acc"] != modes["bn"]["eval_acc"]


def test_train_mode_accuracy_leaves_the_net_unchanged_and_uses_batch_statistics():
    import torch
    from bn_core.nets.models import build_twins

    config = sb.SWEEP_BASE.replace(depth=1, width=8)
    net = build_twins(config.replace(nets=("bn",)), 784, 10)["bn"]
    x = torch.rand(40, 784, generator=torch.Generator().manual_seed(0))
    y = torch.arange(40) % 10
    before = [t.clone() for t in net.state_dict().values()]
    net.eval()
    acc = probes.train_mode_accuracy(net, x, y, 4)
    assert not net.training  # mode restored
    assert all(torch.equal(a, b) for a, b in zip(before, net.state_dict().values()))
    # by hand: the same batches in training mode
    order = torch.from_numpy(np.random.default_rng([0, 29]).permutation(40))
    net.train()
    with torch.no_grad():
        hits = sum(int((net(x[order[i:i + 4]]).argmax(1) == y[order[i:i + 4]]).sum())
                   for i in range(0, 40, 4))
    assert acc == hits / 40
    with pytest.raises(ValueError, match="at least 2"):
        probes.train_mode_accuracy(net, x, y, 1)


@pytest.mark.slow
def test_the_lessons_claims_hold_in_quick_mode_on_seed_0(no_leaked_threads):
    results = sb.claims(seeds=(0,), quick=True)
    assert results and all(set(r) == {"claim", "values", "holds"} for r in results)
    for r in results:
        assert list(r["values"]) == [0], r["claim"]
        assert r["holds"] is True, (r["claim"], r["values"])


def test_the_largest_reference_lr_scales_to_a_valid_setting_at_every_batch():
    from bn_core.config import SETTINGS

    top = sb.max_lr_at_reference()
    assert top == SETTINGS["lr"].hi * sb.REFERENCE_BATCH / max(sb.SWEEP_BATCH_SIZES)
    configs = sb.sweep_configs(base=sb.SWEEP_BASE.replace(lr=top))
    assert max(c.lr for c in configs) == SETTINGS["lr"].hi
    with pytest.raises(ValueError):
        sb.sweep_configs(base=sb.SWEEP_BASE.replace(lr=top * 1.5))
    low = sb.min_lr_at_reference()
    configs = sb.sweep_configs(base=sb.SWEEP_BASE.replace(lr=low))
    assert min(c.lr for c in configs) == pytest.approx(SETTINGS["lr"].lo)
