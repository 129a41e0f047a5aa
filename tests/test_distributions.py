"""Distribution drift summaries (bn_core/lessons/distributions.py): real values on small arrays."""
import math

import numpy as np
import pytest

from bn_core.lessons.distributions import (band_drift, bin_centres, evenly_spaced, fractions,
                                   histogram_moments, layers_to_show, log_density, mass_near,
                                   moment_drift, value_at_step)


def test_band_drift_median_and_width():
    pct = np.array([[-0.1, 0.0, 0.1], [-1.0, 0.5, 2.0], [-2.0, -0.3, 1.0]], np.float32)
    d = band_drift(pct)
    assert d.median_start == pytest.approx(0.0)
    assert d.median_now == pytest.approx(-0.3)
    assert d.median_range == pytest.approx(0.8)
    assert d.median_shift == pytest.approx(-0.3)
    assert d.width_start == pytest.approx(0.2)
    assert d.width_now == pytest.approx(3.0)


def test_band_drift_skips_nan_rows_and_empty():
    assert band_drift(np.zeros((0, 3))) is None
    assert band_drift(np.full((2, 3), np.nan)) is None
    d = band_drift(np.array([[np.nan, np.nan, np.nan], [0, 1, 2], [0, 3, 4]], float))
    assert d.median_start == 1 and d.median_now == 3


def test_moment_drift_per_layer():
    mean = np.array([[0.0, 0.0], [0.5, 0.1], [0.2, -0.1]])
    var = np.array([[0.1, 1.0], [0.5, 1.0], [0.4, 1.2]])
    d = moment_drift(mean, var)
    assert len(d) == 2
    assert d[0].mean_range == pytest.approx(0.5)
    assert d[0].var_ratio == pytest.approx(4.0)
    assert d[0].var_ratio_max == pytest.approx(5.0)
    assert d[1].var_ratio_max == pytest.approx(1.2)
    assert moment_drift(np.zeros((0, 2)), np.zeros((0, 2))) == []
    assert math.isinf(moment_drift(np.zeros((2, 1)), np.array([[0.0], [1.0]]))[0].var_ratio)


def test_value_at_step_exact_before_and_not_reached():
    steps = np.array([0, 50, 100, 150, 200, 250, 300])
    acc = np.linspace(0.1, 0.7, 7)
    assert value_at_step(steps, acc, 300) == pytest.approx(0.7)
    assert value_at_step(steps, acc, 120) == pytest.approx(acc[2])  # the last record before
    assert math.isnan(value_at_step(steps, acc, 301))
    assert math.isnan(value_at_step(np.array([], int), np.array([]), 0))


def test_fractions_and_log_density():
    counts = np.array([[0, 1, 3], [0, 0, 0]])
    f = fractions(counts)
    assert f[0].tolist() == [0.0, 0.25, 0.75]
    assert f[1].tolist() == [0.0, 0.0, 0.0]
    ld = log_density(counts)
    assert ld[0, 0] == -4.0 and ld[0, 2] == pytest.approx(np.log10(0.75))


def test_histogram_moments_symmetric_and_skewed():
    edges = np.linspace(-3, 3, 61)
    c = bin_centres(edges)
    gauss = np.round(1000 * np.exp(-c ** 2 / 2)).astype(int)
    m = histogram_moments(gauss, edges)
    assert abs(m["mean"]) < 1e-9 and abs(m["skew"]) < 1e-9
    assert m["std"] == pytest.approx(1.0, abs=0.05)
    # a ReLU's output: half the mass at 0, the rest a one-sided tail -> strongly right-skewed
    relu = np.where(c > 0, gauss, 0)
    relu[np.searchsorted(edges, 0.0, side="right") - 1] += gauss[c <= 0].sum()
    assert histogram_moments(relu, edges)["skew"] > 1.0
    assert math.isnan(histogram_moments(np.zeros(60), edges)["mean"])


def test_mass_near_zero_bin():
    edges = np.linspace(-0.5, 6.0, 61)
    counts = np.zeros(60, int)
    zero_bin = np.searchsorted(edges, 0.0, side="right") - 1
    counts[zero_bin] = 50
    counts[30] = 50
    assert mass_near(counts, edges) == pytest.approx(0.5)
    assert mass_near(counts, edges, 100.0) == 0.0  # clipped into the last bin
    assert math.isnan(mass_near(np.zeros(60), edges))


def test_evenly_spaced_and_layers_to_show():
    assert evenly_spaced(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = evenly_spaced(1000, 150)
    assert len(idx) <= 150 and idx[0] == 0 and idx[-1] == 999
    assert layers_to_show(4) == [0, 1, 2, 3]
    shown = layers_to_show(20, 6)
    assert len(shown) == 6 and shown[0] == 0 and shown[-1] == 19


# ---------------------------------------------------------------------------- page text (T3, T6)

def _short_run(**changes):
    from bn_core.engine.training import train_to_end
    from bn_core.presets import lesson_setup

    return train_to_end(lesson_setup("internal-covariate-shift").replace(
        **{"steps": 100, "probe_every": 25, "eval_every": 50, **changes}))


def test_page_texts_quote_the_runs_own_moments():
    from bn_core.lessons import distributions as d

    snap = _short_run()
    plain = d.moment_drift(snap.nets["plain"].probes["mean"], snap.nets["plain"].probes["var"])
    text = d.layer_moments_text(snap, 3)
    assert text.startswith("**Layer 4's relu input, step 0 → 100**")
    assert f"variance {plain[3].var_start:.3g} → {plain[3].var_now:.3g}" in text
    growth = d.largest_drift_text(snap)
    best = max(plain, key=lambda m: m.var_ratio_max)
    assert f"**{best.var_ratio_max:.3g}×** its start" in growth
    seen = d.bn_input_text(snap, [0, 3])
    assert "layer 1:" in seen and "layer 4:" in seen and "skewness" in seen


def test_start_variances_say_whether_the_init_is_lopsided():
    from bn_core.lessons import distributions as d

    he = d.start_variance_text(_short_run())
    assert "He's N(0, 2/fan_in)" in he and "within a factor of 4" in he
    lecun = d.start_variance_text(_short_run(init="default"))
    assert "N(0, 1/fan_in)" in lecun and "part of the growth below is the initialisation" in lecun


def test_readings_say_which_layers_moved_and_what_bn_receives():
    from bn_core.lessons import distributions as d

    snap = _short_run(steps=300)
    plain = d.moment_drift(snap.nets["plain"].probes["mean"], snap.nets["plain"].probes["var"])
    bn = d.moment_drift(snap.nets["bn"].probes["mean"], snap.nets["bn"].probes["var"])
    top = d.layer_drift_reading(snap, 3)
    if plain[3].var_ratio_max >= d.MOVED:
        assert f"grew up to {plain[3].var_ratio_max:.3g}× its start" in top
        assert "the layers below it changed" in top
    else:
        assert "hardly moved" in top
    assert f"variance at most {bn[3].var_ratio_max:.3g}× its start" in top
    assert "layer 1 reads the data itself" in d.layer_drift_reading(snap, 0) or \
        "hardly moved" in d.layer_drift_reading(snap, 0)
    ratios = [m.var_ratio_max for m in plain]
    depth = d.depth_drift_reading(snap)
    assert f"layer 4 {ratios[3]:.3g}×" in depth
    assert ("at the top" in depth) == (max(ratios) == ratios[-1] and ratios[-1] >= ratios[0])
    before = d.placement_reading(snap, [0, 1, 2, 3])
    assert before.startswith("BN normalises linear outputs")

    after = _short_run(steps=300, placement="after")
    text = d.placement_reading(after, [0, 1, 2, 3])
    zeros = [d.mass_near(after.nets["bn"].probes["bn_hist"][-1, l], after.bn_edges)
             for l in range(4)]
    assert text.startswith("BN normalises the relu's outputs")
    assert f"{min(zeros):.0%}-{max(zeros):.0%} of what BN receives sits in the bin at 0" in text
    assert min(zeros) > 0.3   # a ReLU's outputs: a spike at 0 (claim T6, docs/claims.md)
    assert "nonlinearity input is a plain linear output again" in d.layer_drift_reading(after, 3)
    assert d.layer_drift_reading(after, 9) == "" and d.depth_drift_reading(_short_run(steps=20)) == ""
