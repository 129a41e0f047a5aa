"""Tests for bn_core.lessons.which_part: summaries, the resemblance rule and the sentences,
on hand-made snapshots with known numbers and on a real (short) four-net run."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bn_core.config import NET_LABELS
from bn_core.engine.training import NetView, RunSnapshot, train_to_end
from bn_core.lessons import which_part as wp

STEPS = np.array([0, 50, 100, 200, 300])


def view(name, accs, loss=0.1, median=(0.0, 0.1, 0.0, 0.1, 0.0), width=2.0, status="finished",
         diverged_at=None):
    """A NetView with held-out accuracies at STEPS, and a 3-layer band whose last layer's
    median follows `median` with a fixed width."""
    mid = np.asarray(median, np.float32)
    band = np.stack([mid - width / 2, mid, mid + width / 2], axis=1)
    unit_pct = np.repeat(band[:, None, :], 3, axis=1)
    probes = {"step": STEPS, "loss": np.array([math.nan, 1.0, 0.5, 0.3, loss], np.float32),
              "unit_pct": unit_pct, "pooled_pct": unit_pct}
    evals = {"step": STEPS, "heldout_acc": np.asarray(accs, np.float32)}
    return NetView(name=name, label=NET_LABELS[name], status=status, step=300,
                   diverged_at=diverged_at, probes=probes, evals=evals, ics={}, latest={},
                   initial_grid=None)


def snapshot(nets, config=None):
    config = config or wp.FIGURE1_PART.replace(steps=300)
    return RunSnapshot(key=config.key(), config=config, status="finished", message="", step=300,
                       total_steps=config.steps, steps_per_sec=0.0, elapsed=0.0,
                       nets={v.name: v for v in nets}, edges=None, bn_edges=None,
                       viewport=None, data=None, viewers=0)


def normalisation_wins():
    return snapshot([
        view("plain", [0.1, 0.1, 0.1, 0.4, 0.7], loss=0.30, median=(0, 0.5, 1.0, 1.5, 2.0)),
        view("norm_only", [0.1, 0.8, 0.88, 0.9, 0.91], loss=0.05, median=(0, 0.05, 0, 0.05, 0)),
        view("affine_only", [0.1, 0.1, 0.12, 0.45, 0.72], loss=0.25,
             median=(0, 0.6, 1.2, 1.8, 2.4)),
        view("bn", [0.1, 0.82, 0.9, 0.91, 0.93], loss=0.02, median=(0, 0.1, 0.2, 0.1, 0.0)),
    ])


@pytest.mark.parametrize("value,expected", [(0.9, "bn"), (0.81, "bn"), (0.12, "plain"),
                                            (0.5, "between"), (1.2, "beyond_bn"),
                                            (-0.2, "below_plain")])
def test_resemblance_places_a_value_between_plain_and_bn(value, expected):
    assert wp.resemblance(value, plain=0.1, bn=0.9) == expected


def test_resemblance_refuses_to_attribute_without_a_gap():
    assert wp.resemblance(0.5, plain=0.90, bn=0.91) is None
    assert wp.resemblance(math.nan, plain=0.1, bn=0.9) is None


def test_part_summary_reads_accuracy_loss_and_band():
    s = wp.part_summary(normalisation_wins().nets["plain"], layer=2)
    assert s.early_acc == pytest.approx(0.1) and s.final_acc == pytest.approx(0.7)
    assert s.steps_to_target is None and s.train_loss == pytest.approx(0.3)
    assert s.band.median_range == pytest.approx(2.0)
    bn = wp.part_summary(normalisation_wins().nets["bn"], layer=2)
    assert bn.steps_to_target == 50 and bn.early_acc == pytest.approx(0.9)


def test_findings_when_the_normalisation_does_the_work():
    text = " ".join(wp.findings(normalisation_wins()))
    assert ("**Held-out accuracy at step 100**: Plain 10%, Normalise only 88%, "
            "Scale and shift only 12%, BN 90%") in text
    assert "**So the normalisation does the work here for the early speed**" in text
    assert "Plain not yet, Normalise only step 50, Scale and shift only not yet, BN step 50" \
        in text
    assert "BN's training loss is 0.02 against 0.05 for normalising alone" in text
    assert "the scale-and-shift helps the net fit" in text
    assert "Plain 2.00, Normalise only 0.05, Scale and shift only 2.40, BN 0.20" in text
    assert "Much stiller than the plain net's (under half its range): Normalise only, BN." \
        in text and "Not: Scale and shift only." in text
    assert "**The normalisation is what holds the distribution still**" in text


def test_findings_when_the_scale_and_shift_does_the_work():
    snap = snapshot([
        view("plain", [0.1, 0.1, 0.1, 0.4, 0.7]),
        view("norm_only", [0.1, 0.1, 0.11, 0.4, 0.7]),
        view("affine_only", [0.1, 0.8, 0.88, 0.9, 0.91]),
        view("bn", [0.1, 0.82, 0.9, 0.91, 0.93]),
    ])
    text = " ".join(wp.findings(snap))
    assert "**So the scale-and-shift does the work here for the early speed**" in text
    assert "normalisation does the work" not in text


def test_findings_say_when_nets_are_level_and_when_a_band_is_flat():
    snap = snapshot([
        view("plain", [0.1, 0.5, 0.80, 0.9, 0.92], median=(0, 1, 2, 3, 4), width=0.0),
        view("norm_only", [0.1, 0.5, 0.81, 0.9, 0.93]),
        view("affine_only", [0.1, 0.5, 0.80, 0.9, 0.925], median=(0, 1, 2, 3, 4), width=0.0),
        view("bn", [0.1, 0.5, 0.80, 0.9, 0.93]),
    ])
    text = " ".join(wp.findings(snap))
    assert "At step 100 BN and the plain net are level (80% vs 80%)" in text
    assert "does the work" not in text
    assert "within 1.0% of each other" in text
    assert "Plain 4.00 (flat: every digit gives this unit the same input)" in text


def test_findings_need_plain_and_bn_and_wait_for_step_100():
    assert wp.findings(snapshot([view("bn", [0.1] * 5)])) == []
    early = snapshot([view(n, [0.1] * 5) for n in wp.PART_NETS])
    for v in early.nets.values():
        object.__setattr__(v, "evals", {"step": STEPS[:2], "heldout_acc": np.array([0.1, 0.2])})
    assert wp.findings(early)[0] == "Step 100 is not reached yet."


def test_findings_name_a_diverged_net():
    snap = normalisation_wins()
    plain = snap.nets["plain"]
    snap.nets["plain"] = view("plain", [0.1, 0.1, 0.1, 0.1, 0.1], status="diverged",
                              diverged_at=250)
    assert plain is not snap.nets["plain"]
    text = " ".join(wp.findings(snap))
    assert "Plain 10% (diverged at step 250)" in text


def test_a_real_four_net_run_gives_findings(no_leaked_threads):
    config = wp.FIGURE1_PART.replace(steps=120, probe_every=20, eval_every=20, heldout_size=200,
                                     width=32)
    snap = train_to_end(config)
    s = wp.summaries(snap)
    assert set(s) == set(wp.PART_NETS)
    for name, summary in s.items():
        assert math.isfinite(summary.early_acc) and summary.band is not None, name
    text = wp.findings(snap)
    assert text[0].startswith("**Held-out accuracy at step 100**")
    assert any(t.startswith("**Percentile band of layer 3's input (unit 0)**") for t in text)
    # the Figure 1 page's charts draw the four nets
    import plotly.graph_objects as go

    from bn_core.figures.figure1_page import heldout_accuracy_chart, percentile_bands_chart

    # go.Figure(...) reads a figure or its plain-dict form alike
    names = {t.name for t in go.Figure(heldout_accuracy_chart(snap)).data if t.name}
    assert {"Plain", "Normalise only", "Scale and shift only", "BN"} <= names
    assert len(go.Figure(percentile_bands_chart(snap, 2, False)).data) >= 4


@pytest.mark.slow
def test_the_lessons_claims_hold_in_quick_mode_on_seed_0(no_leaked_threads):
    results = wp.claims(seeds=(0,), quick=True)
    assert results and all(set(r) == {"claim", "values", "holds"} for r in results)
    for r in results:
        assert list(r["values"]) == [0], r["claim"]
        assert r["holds"] is True, (r["claim"], r["values"])
