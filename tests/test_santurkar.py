"""Tests for bn_core.lessons.santurkar (ICS summaries and the conclusions written from them) and the
figure builders of bn_core.figures.ics, on hand-made NetViews with known numbers."""
import math

import numpy as np
import pytest

from bn_core.lessons import santurkar
from bn_core.config import NET_LABELS
from bn_core.figures import ics as figs
from bn_core.engine.training import NetView
from figuretest import checked, values


def net_view(name, cos, loss, acc=0.5, dist=None, scape=(0.1, 0.2, 3.0), status="finished",
             diverged_at=None, layer_means=None, layers=4):
    """A NetView with 5 ICS records of constant cos (layer 1 always 1) and a loss series."""
    n = 5
    cos_arr = np.full((n, layers), cos, np.float32)
    cos_arr[:, 0] = 1.0
    dist_arr = np.full((n, layers), 0.1 if dist is None else dist, np.float32)
    dist_arr[:, 0] = 0.0
    ics = {"step": np.arange(1, n + 1) * 10, "cos": cos_arr, "dist": dist_arr,
           "loss_range": np.full(n, scape[0]), "grad_change": np.full(n, scape[1]),
           "beta_smoothness": np.full(n, scape[2])}
    losses = np.array([math.nan, 2.3, (2.3 + loss) / 2, loss], np.float32)
    means = np.zeros((4, layers - 1), np.float32) if layer_means is None else layer_means
    probes = {"step": np.array([0, 10, 20, 30]), "loss": losses, "mean": means}
    evals = {"step": np.array([0, 30]), "train_acc": np.array([0.1, acc], np.float32)}
    return NetView(name=name, label=NET_LABELS[name], status=status, step=30,
                   diverged_at=diverged_at, probes=probes, evals=evals, ics=ics, latest={},
                   initial_grid=None)


def test_shift_summary_leaves_out_layer_one():
    s = santurkar.shift_summary(net_view("bn", cos=0.4, loss=0.1))
    assert s.mean_cos == pytest.approx(0.4)
    assert s.cos_by_layer[0] == pytest.approx(1.0)
    assert s.ics_records == 5
    assert s.first_loss == pytest.approx(2.3) and s.last_loss == pytest.approx(0.1)
    assert s.last_acc == pytest.approx(0.5) and s.loss_step == 30


def test_input_jitter_is_the_mean_absolute_change_between_probes():
    means = np.array([[0.0, 0.0], [1.0, -1.0], [1.0, 1.0]])
    assert santurkar.input_jitter({"mean": means}) == pytest.approx((1 + 1 + 0 + 2) / 4)
    assert math.isnan(santurkar.input_jitter({"mean": means[:1]}))


def test_conclusions_bn_increases_ics_yet_trains_better():
    nets = {"plain": net_view("plain", cos=0.97, loss=0.30, acc=0.8, dist=0.1,
                              scape=(0.2, 0.3, 5.0)),
            "bn": net_view("bn", cos=0.41, loss=0.02, acc=0.99, dist=0.3, scape=(0.1, 0.1, 1.0))}
    text = " ".join(santurkar.conclusions(nets, classification=True))
    assert "**0.41** vs plain **0.97**" in text
    assert "did NOT reduce internal covariate shift; it increased it** (by both measures)" in text
    assert "Yet BN trained **much better**" in text and "0.02" in text and "0.3" in text
    assert "by every probe BN's landscape was smoother" in text
    assert "did not come from reducing internal covariate shift" in text


def test_each_ics_measure_gets_its_own_verdict():
    """The cosine and ||G - G'|| can disagree: the sentence says which measure says what."""
    plain = santurkar.shift_summary(net_view("plain", cos=0.78, loss=0.2, dist=0.168))
    bn = santurkar.shift_summary(net_view("bn", cos=0.68, loss=0.03, dist=0.156))
    assert santurkar.ics_verdicts(bn, plain) == {"cos": "more", "dist": "same"}
    sentence, reduced = santurkar.ics_sentence(bn, plain)
    assert reduced is False
    assert "by the cosine, BN's gradients shifted **more**" in sentence
    assert "about the same (within 10%)" in sentence
    assert "(by the cosine, the other about the same)" in sentence
    bn_less = santurkar.shift_summary(net_view("bn", cos=0.68, loss=0.03, dist=0.05))
    sentence, reduced = santurkar.ics_sentence(bn_less, plain)
    assert reduced is None and "the two measures disagree" in sentence


def test_conclusions_when_bn_reduces_ics_say_so():
    nets = {"plain": net_view("plain", cos=0.5, loss=0.30, dist=0.3),
            "bn": net_view("bn", cos=0.9, loss=0.10, dist=0.1)}
    text = " ".join(santurkar.conclusions(nets, classification=True))
    assert "here BN did reduce internal covariate shift** by both measures" in text
    assert "2015 story fits" in text


def test_conclusions_noisy_bn_label_its_instability_as_the_noise():
    jumpy = np.array([[0.0], [0.4], [-0.3], [0.2]], np.float32)
    calm = np.array([[0.0], [0.01], [0.02], [0.03]], np.float32)
    nets = {"plain": net_view("plain", cos=0.99, loss=1.0, layers=2, layer_means=calm),
            "bn": net_view("bn", cos=0.9, loss=0.10, layers=2),
            "noisy_bn": net_view("noisy_bn", cos=0.8, loss=0.11, layers=2, layer_means=jumpy),
            "noisy_plain": net_view("noisy_plain", cos=0.9, loss=2.2, layers=2)}
    out = santurkar.conclusions(nets, classification=False)
    noisy = next(s for s in out if s.startswith("**Noisy BN**"))
    assert "about as well as BN" in noisy and "better than the plain net" in noisy
    jitter = next(s for s in out if s.startswith("Its layer inputs' means moved"))
    assert "**less stable**" in jitter and "mostly the injected noise itself" in jitter
    assert "by 0.33 on average" in jitter  # E|U - U'| for U ~ U(-0.5, 0.5)
    assert any("same noise in the **plain net**" in s and "2.2" in s for s in out)
    assert not any("training accuracy" in s for s in out)  # regression: no accuracy


def test_noisy_bn_evaluation_gap_is_explained_with_the_run_numbers():
    """Deep linear: noisy BN's loss with the noise off (eval) far above its training loss."""
    nets = {"plain": net_view("plain", cos=0.87, loss=2.18), "bn": net_view("bn", 0.24, 1.39),
            "noisy_bn": net_view("noisy_bn", cos=0.98, loss=3.18)}
    for name, eval_loss in (("plain", 2.13), ("bn", 1.38), ("noisy_bn", 7.84)):
        nets[name].evals["train_loss"] = np.array([9.0, eval_loss], np.float32)
    out = santurkar.conclusions(nets, classification=False, depth=24)
    gap = next(s for s in out if s.startswith("Evaluated (noise off"))
    assert "**7.84**" in gap and "3.18 while it trained" in gap and "1.38 for BN" in gap
    assert "2.5x worse" in gap and "its 24 BN layers" in gap and "regression output" in gap
    noisy = next(s for s in out if s.startswith("**Noisy BN**"))
    assert "worse than BN" in noisy and "no better than the plain net" in noisy


def test_conclusions_when_the_losses_are_about_equal_say_bn_did_not_help():
    nets = {"plain": net_view("plain", cos=0.74, loss=3.48),
            "bn": net_view("bn", cos=0.31, loss=3.40)}
    text = " ".join(santurkar.conclusions(nets, classification=False))
    assert "did NOT reduce" in text
    assert "BN trained **about as well as the plain net**" in text
    assert "BN did not help in this run" in text
    assert "Santurkar et al.'s conclusion" not in text


def test_conclusions_report_divergence():
    nets = {"plain": net_view("plain", cos=0.9, loss=0.5, status="diverged", diverged_at=7),
            "bn": net_view("bn", cos=0.3, loss=0.2)}
    text = " ".join(santurkar.conclusions(nets, classification=True))
    assert "**diverged at step 7**" in text


def test_conclusions_wait_for_measurements():
    empty = net_view("bn", cos=0.5, loss=0.1)
    empty = NetView(**{**empty.__dict__, "ics": {}})
    nets = {"plain": empty, "bn": empty}
    assert santurkar.conclusions(nets, classification=True) == []
    assert santurkar.conclusions({"bn": net_view("bn", 0.5, 0.1)}, True) == []


def test_landscape_verdicts_are_per_probe_with_medians():
    """Beta-smoothness higher with BN while the other two are lower: the page says so for that
    probe alone; a median ignores a first-step transient that would dominate a mean."""
    plain = net_view("plain", cos=0.78, loss=0.23, scape=(0.52, 2.27, 2.24))
    bn = net_view("bn", cos=0.68, loss=0.03, scape=(0.073, 1.05, 2.90))
    bn.ics["loss_range"][0] = 100.0  # a first-measurement transient
    out = santurkar.landscape_sentences(santurkar.shift_summary(bn), santurkar.shift_summary(plain))
    text = out[0]
    assert "0.25 to 4 times the learning rate (medians over 5 measurements)" in text
    assert "varied over a range of **0.073** with BN vs **0.52** plain: BN's 7.1x lower" in text
    assert "at most **1.05** with BN vs **2.27** plain: BN's 2.2x lower" in text
    assert "beta-smoothness was **2.9** with BN vs **2.24** plain: **not lower with BN** " \
           "(1.3x higher)" in text
    assert "smoother by the loss range and the gradient change, but not by the effective " \
           "beta-smoothness" in text
    assert len(out) == 1  # both nets left their plateau: no caveat


def test_plateau_is_detected_from_the_loss_at_each_measurement():
    """A net whose loss stays near its start while it is measured: the old check (final loss
    above 0.9x the first) missed a net that left the plateau only at the end."""
    view = net_view("plain", cos=1.0, loss=1.1, scape=(0.01, 0.01, 1.0))
    view.probes["loss"][:] = [math.nan, 2.32, 2.30, 1.1]
    view.ics["step"][:] = [5, 10, 15, 20, 25]  # four measurements before the loss fell
    assert santurkar.plateau_records(view.probes, view.ics["step"]) == 4
    bn = net_view("bn", cos=0.9, loss=0.2, scape=(0.1, 0.1, 5.0))
    text = " ".join(santurkar.conclusions({"plain": view, "bn": bn}, classification=True))
    assert "at 4 of the 5 measurements the Plain net's training loss was still above 0.9x" in text
    assert "by no probe was BN's landscape smoother" in text


def test_page_texts_are_built_from_the_summaries():
    s = {n: santurkar.shift_summary(net_view(n, cos=c, loss=l))
         for n, c, l in (("plain", 0.97, 0.3), ("bn", 0.41, 0.02))}
    assert "**Plain** 0.97, **BN** 0.41" in santurkar.ics_look_for(s)
    assert "**BN** loss 0.02, training accuracy 0.50" in santurkar.training_look_for(s, False)
    assert santurkar.ics_look_for({}) is None
    assert "0.25, 0.5, 1, 2, 4 times the learning rate" in santurkar.landscape_explainer()


# --------------------------------------------------------------------------- figures


def _nets():
    return {"plain": net_view("plain", cos=0.97, loss=0.3),
            "bn": net_view("bn", cos=0.4, loss=0.05),
            "noisy_bn": net_view("noisy_bn", cos=0.6, loss=0.07)}


def test_ics_figures_carry_one_trace_per_net_with_the_right_values():
    by_layer = checked(figs.ics_by_layer_figure(_nets(), "cos"))
    assert [t["name"] for t in by_layer["data"]] == ["Plain", "BN", "Noisy BN"]
    np.testing.assert_allclose(values(by_layer["data"][1]), [1.0, 0.4, 0.4, 0.4], atol=1e-6)
    low, high = by_layer["layout"]["yaxis"]["range"]
    assert low < 0.4 and 1.0 < high < 1.1  # the axis shows the data, and 1 (no shift)
    over_time = checked(figs.ics_over_time_figure(_nets(), "dist"))
    assert over_time["layout"]["yaxis"]["type"] == "log"
    np.testing.assert_allclose(values(over_time["data"][0]), 0.1, atol=1e-6)


def test_cosine_axis_follows_the_data():
    """Cosines near 1 get a range near 1 (not squeezed into the top of 0.9-1); a spread is
    shown whole; noise of 0.0001 is not blown up to fill the chart."""
    near = {"plain": net_view("plain", cos=0.999, loss=0.3),
            "bn": net_view("bn", cos=0.985, loss=0.05)}
    low, high = checked(figs.ics_by_layer_figure(near, "cos"))["layout"]["yaxis"]["range"]
    assert 0.975 < low < 0.985 and 1.0 < high < 1.002
    flat = {"plain": net_view("plain", cos=0.9999, loss=0.3)}
    low, _ = checked(figs.ics_by_layer_figure(flat, "cos"))["layout"]["yaxis"]["range"]
    assert low == pytest.approx(0.99)  # the floor: at least 0.01 of range
    spread = {"bn": net_view("bn", cos=-0.8, loss=0.3)}
    low, _ = checked(figs.ics_over_time_figure(spread, "cos"))["layout"]["yaxis"]["range"]
    assert -1.02 <= low < -0.8


def test_loss_and_landscape_figures_have_data():
    loss = checked(figs.training_loss_figure(_nets(), regression=True))
    assert len(loss["data"]) == 3 and loss["layout"]["yaxis"]["type"] == "log"
    assert "mean squared error" in loss["layout"]["yaxis"]["title"]["text"]
    np.testing.assert_allclose(values(loss["data"][1]), _nets()["bn"].probes["loss"], rtol=1e-6)
    scape = checked(figs.landscape_figure(_nets()))
    assert len(scape["data"]) == 3 * 3
    assert all(values(t, "x").size == 5 for t in scape["data"])
    assert scape["layout"]["title"]["text"]
    assert all(scape["layout"][k]["type"] == "log" for k in ("yaxis", "yaxis2", "yaxis3"))


def test_figures_skip_nets_without_records():
    nets = _nets()
    nets["bn"] = NetView(**{**nets["bn"].__dict__, "ics": {}})
    assert len(checked(figs.ics_by_layer_figure(nets))["data"]) == 2
    none = {n: NetView(**{**v.__dict__, "ics": {}, "probes": {}}) for n, v in _nets().items()}
    for fig in (figs.ics_by_layer_figure(none), figs.ics_over_time_figure(none, "dist"),
                figs.training_loss_figure(none, False), figs.landscape_figure(none)):
        assert checked(fig)["data"] == []
