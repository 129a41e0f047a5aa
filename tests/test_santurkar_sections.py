"""Tests for bn_core.lessons.santurkar_sections: the short texts beside each chart of the ICS
lesson say what the summaries hold, and flip when the numbers flip (hand-made NetViews with
known numbers, as in test_santurkar)."""
import math

import pytest
from test_santurkar import net_view

from bn_core.lessons import santurkar
from bn_core.lessons import santurkar_sections as words
from bn_core.presets import lesson_setup


def summaries(*nets) -> dict:
    return {n.name: santurkar.shift_summary(n) for n in nets}


def bn_shifts_more() -> dict:
    return summaries(net_view("plain", cos=0.97, loss=0.30, dist=0.1, scape=(0.2, 0.3, 5.0)),
                     net_view("bn", cos=0.41, loss=0.02, dist=0.3, scape=(0.1, 0.1, 1.0)))


def bn_shifts_less() -> dict:
    return summaries(net_view("plain", cos=0.40, loss=0.30, dist=0.3, scape=(0.1, 0.1, 1.0)),
                     net_view("bn", cos=0.95, loss=0.31, dist=0.1, scape=(0.2, 0.3, 5.0)))


def test_setup_and_metric_labels_cover_every_choice_the_page_offers():
    assert set(words.SETUP_LABELS) == {"mnist-sigmoid", "deep-linear"}
    assert set(words.METRIC_LABELS) == {"cos", "dist"}
    assert not set(words.SETUP_LABELS.values()) & set(words.SETUP_LABELS)  # words, not keys


def test_setup_caption_is_read_off_the_config():
    mnist = lesson_setup("santurkar-mnist")
    text = words.setup_caption("mnist-sigmoid", mnist)
    assert f"{mnist.depth} hidden layers of {mnist.width} {mnist.activation} units" in text
    assert f"learning rate {mnist.lr:g}" in text and f"batches of {mnist.batch_size}" in text
    linear = lesson_setup("santurkar-deep-linear")
    text = words.setup_caption("deep-linear", linear)
    assert f"{linear.depth + 1} linear layers of width {linear.width}" in text
    assert f"full-batch gradient descent on {linear.batch_size} examples" in text


def test_ics_per_layer_text_reports_each_net_and_the_verdict():
    text = words.ics_layer_look_for(bn_shifts_more(), "cos")
    assert "Plain **0.97**, BN **0.41**" in text and "5 measurements so far" in text
    assert "BN's gradients shift **more** than the plain net's" in text
    assert "**Try:** show ||G - G'||" in text
    text = words.ics_layer_look_for(bn_shifts_less(), "dist")
    assert "||G - G'|| = 0 means" in text
    assert "Plain **0.3**, BN **0.1**" in text
    assert "shift **less** than the plain net's" in text and "show cos(G, G')" in text


def test_ics_texts_wait_for_a_measurement():
    empty = net_view("plain", cos=1.0, loss=0.3)
    empty.ics["cos"] = empty.ics["cos"][:0]
    empty.ics["dist"] = empty.ics["dist"][:0]
    empty.ics["step"] = empty.ics["step"][:0]
    s = summaries(empty)
    assert s["plain"].ics_records == 0
    assert words.ics_layer_look_for(s, "cos") is None
    assert words.ics_layer_look_for({}, "cos") is None
    assert words.ics_time_look_for(s, "cos", 50) is None  # no BN net to compare with


def test_ics_over_time_text_says_which_side_bn_runs_on():
    more = words.ics_time_look_for(bn_shifts_more(), "cos", 50)
    assert "every 50 steps" in more and "would run above the plain net's" in more
    assert "it does not: on average it runs on the other side" in more
    less = words.ics_time_look_for(bn_shifts_less(), "dist", 10)
    assert "would run below the plain net's" in less and "here it does, on average" in less
    level = summaries(net_view("plain", cos=0.9, loss=0.3, dist=0.2),
                      net_view("bn", cos=0.905, loss=0.3, dist=0.205))
    assert "the two are level" in words.ics_time_look_for(level, "cos", 10)


def test_training_text_compares_the_losses_it_shows():
    text = words.training_look_for(bn_shifts_more(), regression=False)
    assert "Plain loss **0.3** (accuracy 0.50)" in text and "BN loss **0.02**" in text
    assert "BN's loss is lower than the plain net's so far" in text
    text = words.training_look_for(bn_shifts_less(), regression=True)
    assert "accuracy" not in text
    assert "about the same than" not in text and "BN's loss is about the same" in text
    worse = summaries(net_view("plain", cos=0.9, loss=0.1), net_view("bn", cos=0.9, loss=0.5))
    assert "BN's loss is higher" in words.training_look_for(worse, regression=False)


def test_training_text_reports_divergence_and_makes_no_comparison():
    s = summaries(net_view("plain", cos=0.9, loss=math.nan, status="diverged", diverged_at=3),
                  net_view("bn", cos=0.5, loss=0.1))
    text = words.training_look_for(s, regression=False)
    assert "Plain diverged at step 3" in text and "BN loss **0.1**" in text
    assert "so far" not in text  # no lower/higher claim against a diverged net
    assert words.training_look_for({}, False) == "No loss recorded yet."


def test_landscape_text_names_each_probe_with_its_medians():
    text = words.landscape_look_for(bn_shifts_more())
    assert "0.25 to 4 times the learning rate" in text
    assert "loss range lower with BN (0.1 vs 0.2)" in text
    assert "gradient change lower with BN (0.1 vs 0.3)" in text
    assert "lower with BN (1 vs 5)" in text
    text = words.landscape_look_for(bn_shifts_less())
    assert "loss range higher with BN (0.2 vs 0.1)" in text
    assert "This run" not in words.landscape_look_for(summaries(net_view("bn", 0.5, 0.1)))


@pytest.mark.parametrize("metric", ["cos", "dist"])
def test_every_text_mentions_only_the_labels_of_the_nets_it_was_given(metric):
    s = bn_shifts_more()
    for text in (words.ics_layer_look_for(s, metric), words.ics_time_look_for(s, metric, 50),
                 words.training_look_for(s, False), words.landscape_look_for(s)):
        assert "Noisy BN" not in text and "noisy_bn" not in text and "mnist-" not in text
