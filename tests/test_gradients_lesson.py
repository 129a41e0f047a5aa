"""Tests for bn_core/lessons/gradients.py: what the learning rate did to each net and the
gradient sentences, written from real short runs."""
import dataclasses

import numpy as np
import pytest

from bn_core.engine.training import train_to_end
from bn_core.lessons import gradients as lesson
from bn_core.presets import lesson_setup, preset


@pytest.fixture(scope="module")
def x30():
    """The x30 scenario (10 x 100 ReLU, He's init, 0.1 x 30), briefly: the plain net
    overflows within a few steps (claim T9c)."""
    return train_to_end(preset("lr-x30").config.replace(steps=100, probe_every=20,
                                                        eval_every=20))


def test_a_diverged_plain_net_is_named_with_its_step(x30):
    plain = x30.nets["plain"]
    assert plain.status == "diverged"
    level = lesson.chance(x30)
    assert level == pytest.approx(0.1)
    assert lesson.outcome(plain, level) == "diverged"
    hint = lesson.lr_hint(x30)
    assert f"at step {plain.diverged_at:,} (dashed line)" in hint
    assert f"At learning rate {x30.config.effective_lr:g} " in hint
    assert "The BN net trained at the same rate" in hint


def test_collapse_to_chance_is_told_apart_from_training(x30):
    bn = x30.nets["bn"]

    def with_accuracy(*acc):
        evals = {**bn.evals, "heldout_acc": np.array(acc, np.float32)}
        return dataclasses.replace(bn, evals=evals, status="finished")

    collapsed = with_accuracy(0.1, 0.6, 0.18, 0.1)
    assert lesson.outcome(collapsed, 0.1) == "collapsed"
    assert lesson.outcome(with_accuracy(0.1, 0.6, 0.9, 0.95), 0.1) == "trained"
    stuck = with_accuracy(0.1, 0.11, 0.1)
    assert lesson.outcome(stuck, 0.1) == "stuck"
    assert "never left chance level (10%)" in lesson.lr_hint(
        dataclasses.replace(x30, nets={"plain": stuck}))  # at x30: the rate's doing
    snap = dataclasses.replace(x30, nets={"plain": collapsed})
    hint = lesson.lr_hint(snap)
    assert "collapsed: it reached 60% at best, then fell to 10%" in hint
    assert "Every net failed" in hint


def test_gradient_text_quotes_the_last_profile():
    snap = train_to_end(lesson_setup("gradients").replace(steps=40))
    text = lesson.gradient_text(snap)
    assert text.count("powers of ten") == 2 and "(step 40)" in text
    assert "10 hidden layers of 64 sigmoid units" in lesson.caption(snap.config)
    assert "N(0, 1/fan_in)" in lesson.caption(snap.config)
    assert "He's N(0, 2/fan_in)" in lesson.caption(preset("lr-x5").config)
    assert "x1 = 0.1" in lesson.caption(snap.config).replace("0.1 x 1 = 0.1", "x1 = 0.1")
    hint = lesson.lr_hint(snap)  # 40 steps: the plain deep sigmoid net is still at chance
    assert "**Try** the multiplier x5" in hint and "oversized step" not in hint
