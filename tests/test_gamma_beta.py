"""Tests for bn_core/lessons/gamma_beta.py: the gamma and beta lesson's sentences, written from
real (short) runs of the lesson's default setup."""
import re

import pytest

from bn_core.engine.training import train_to_end
from bn_core.lessons import gamma_beta as lesson
from bn_core.presets import lesson_setup


@pytest.fixture(scope="module")
def squeezed():
    """The lesson's default (moons, gamma 0.5 and beta 0 frozen), long enough to separate."""
    return train_to_end(lesson_setup("gamma-beta").replace(pace=0.0, steps=1500, seed=0))


def test_the_default_names_the_gap_and_the_near_linear_share_from_the_run(squeezed):
    text = lesson.accuracy_text(squeezed)
    plain = float(squeezed.nets["plain"].evals["heldout_acc"][-1])
    bn = float(squeezed.nets["bn"].evals["heldout_acc"][-1])
    assert bn <= plain - lesson.CLEARLY_BELOW  # the claim T7 (docs/claims.md)
    assert f"is {plain - bn:.0%} below the plain net" in text
    share = re.search(r"with (\d+)% of its top layer's inputs in the near-linear zone", text)
    assert share and int(share.group(1)) >= 90
    line = lesson.linear_boundary_accuracy(squeezed.config)
    assert 0.8 < line < 0.9 and bn <= line + 0.05  # no better than a straight line (T7)
    assert f"the best straight line on these points reaches {line:.0%}" in text


def test_layer_now_and_mode_words_quote_the_run(squeezed):
    now = lesson.layer_now(squeezed, 2)
    assert now.startswith("**Layer 3 now** (step 1,500)")
    assert now.count("near-linear") == 2 and "95% of outputs in [" in now
    assert "gamma = 0.5, beta = 0" in lesson.mode_sentence(squeezed.config)
    assert "frozen: the lines stay flat at gamma = 0.50" in lesson.affine_text(squeezed, 2).lower()


def test_layer_now_names_the_step_its_shares_were_probed_at(squeezed):
    # a live run's step counter runs ahead of its newest probe: the shares are the probe's
    from dataclasses import replace

    ahead = replace(squeezed, step=squeezed.step + 7)
    probed = int(squeezed.nets["bn"].latest["step"])
    assert lesson.layer_now(ahead, 2).startswith(f"**Layer 3 now** (step {probed:,})")
    assert f"{ahead.step:,}" not in lesson.layer_now(ahead, 2)


def test_symmetric_data_with_beta_zero_is_explained_as_a_symmetry():
    cfg = lesson_setup("gamma-beta").replace(dataset="circles", gamma_value=1.0, pace=0.0,
                                             steps=200)
    assert "f(-x) = c - f(x)" in lesson.symmetry_note(cfg)
    assert lesson.symmetry_note(cfg.replace(beta_value=0.5)) is None
    assert lesson.symmetry_note(cfg.replace(dataset="moons")) is None
    text = lesson.accuracy_text(train_to_end(cfg))
    assert "A symmetry, not the nonlinearity" in text and "near-linear zone" not in text


def test_undo_mode_reports_when_the_curves_agree():
    cfg = lesson_setup("gamma-beta").replace(affine="undo", pace=0.0, steps=200)
    text = lesson.accuracy_text(train_to_end(cfg))
    assert "trains exactly as the plain one" in text and "agree within 5%" in text


def test_hints_follow_the_settings():
    cfg = lesson_setup("gamma-beta")
    assert "gamma = 0.5 and beta = 0 frozen" in lesson.curve_hint(cfg)
    assert "about half of its outputs are 0" in lesson.curve_hint(cfg.replace(activation="relu"))
    assert "lie on top of each other" in lesson.zones_hint(cfg.replace(affine="undo"))


def test_zone_shares_quote_the_run_in_each_mode(squeezed):
    bn = squeezed.nets["bn"].probes["linear_zone"][:, 2]
    text = lesson.zones_reading(squeezed, 2)
    assert text.startswith("**Layer 3, share near-linear**")
    assert f"- **BN**: {lesson.pct(float(bn[0]))} → {lesson.pct(float(bn[-1]))} near-linear" in text
    assert f"stayed between {lesson.pct(float(bn.min()))} and {lesson.pct(float(bn.max()))}" in text
    undo = train_to_end(lesson_setup("gamma-beta").replace(affine="undo", pace=0.0, steps=200))
    assert "lie on top of each other" in lesson.zones_reading(undo, 2)
    relu = train_to_end(lesson_setup("gamma-beta").replace(activation="relu", pace=0.0, steps=200))
    shares = relu.nets["bn"].probes[next(iter(__import__(
        "bn_core.figures.activations", fromlist=["zone_names"]).zone_names("relu")))][:, 2]
    assert f"{lesson.pct(float(shares[-1]))} output 0" in lesson.zones_reading(relu, 2)
    assert "held by gamma and beta" not in lesson.zones_reading(relu, 2)
