"""Tests for bn_core.lessons.inside_bn_sections: the short texts beside each step of the
"Inside the BN layer" lesson carry the numbers the step computed and change their words when the
numbers change (a batch of one, a large eps, gamma and beta that undo BN, m = 2, ...). Every
input is computed by bn_core.lessons.inside_bn and BN Lab's own layer, as on the page."""
import re

import numpy as np
import pytest

from bn_core.lessons import inside_bn as lesson
from bn_core.lessons import inside_bn_sections as words
from bn_core.nets.batchnorm import DEFAULT_EPS, batchnorm_forward

NAMES = ["x1", "x2", "x3"]


def forward(n=4, d=3, seed=0, eps=DEFAULT_EPS, gamma=None, beta=None):
    b = lesson.example_batch(n, d, seed)
    gamma = b.gamma if gamma is None else np.asarray(gamma, float)
    beta = b.beta if beta is None else np.asarray(beta, float)
    y, cache = batchnorm_forward(b.x, gamma, beta, eps)
    return b, y, cache


def test_numbers_and_values_print_short():
    assert words.numbers([1.5, -0.25, 3.0]) == "1.5, -0.25, 3"
    assert words.numbers(2.0) == "2"
    assert words.value(1e-15) == "0" and words.value(-0.123456) == "-0.1235"


def test_forward_text_reports_the_spread_and_gamma_beta_of_the_feature_shown():
    b, y, cache = forward()
    text = words.forward_look_for(cache, y, 1, NAMES)
    assert "spread 1.000 (1 less a hair for eps)" in text
    assert f"x2 spread |gamma| = {abs(b.gamma[1]):g}" in text
    assert f"centre beta = {b.beta[1]:g}" in text
    assert f"std {words.value(y[:, 1].std())}" in text  # y's own std, measured
    assert "**Try:**" in text


def test_forward_text_with_a_large_eps_says_the_spread_stays_below_one():
    _, y, cache = forward(eps=1.0)
    stds = cache.xhat.std(axis=0)
    assert np.all(stds < 1 - words.UNIT_STD)
    text = words.forward_look_for(cache, y, 0, NAMES)
    assert "1 less a hair" not in text
    assert f"spreads {words.numbers(stds, 3)}" in text


def test_forward_text_for_a_batch_of_one_says_bn_erases_the_input():
    b, y, cache = forward(n=1)
    assert np.allclose(y, b.beta)
    text = words.forward_look_for(cache, y, 0, NAMES)
    assert text.startswith("**N = 1: BN breaks.**")
    assert words.numbers(b.beta) in text


def test_arithmetic_text_offers_the_undo_then_confirms_it_when_done():
    _, y, cache = forward()
    offer = words.arithmetic_look_for(cache, y, 0, NAMES)
    assert offer.startswith("**Try:** for x1")
    assert f"gamma = {cache.std[0]:.6g}" in offer and f"beta = {cache.mu[0]:.6g}" in offer
    # set the offered gamma and beta for x1: y equals x, and the text now says so
    gamma, beta = cache.gamma.copy(), cache.beta.copy()
    gamma[0], beta[0] = float(f"{cache.std[0]:.6g}"), float(f"{cache.mu[0]:.6g}")
    _, y2, cache2 = forward(gamma=gamma, beta=beta)
    done = words.arithmetic_look_for(cache2, y2, 0, NAMES)
    assert "so y equals x" in done and "**BN undone**" in done
    gap = float(np.max(np.abs(y2[:, 0] - cache2.x[:, 0])))
    assert f"largest difference {gap:.1e}" in done
    # feature 2 keeps its own gamma and beta: not undone
    assert words.arithmetic_look_for(cache2, y2, 1, NAMES).startswith("**Try:** for x2")


def test_backward_text_on_the_default_batch_agrees_and_the_sums_are_zero():
    b, _, _ = forward()
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy, DEFAULT_EPS)
    verdict, sums = words.backward_look_for(check, DEFAULT_EPS)
    assert f"largest error is {lesson.worst_error(check):.1e}" in verdict
    assert "agree at every node" in verdict
    assert "shifting the whole batch changes nothing after BN" in sums
    assert "almost 0: exactly 0 only when eps = 0 (here 1e-05)" in sums


def test_backward_text_with_a_large_eps_says_the_second_sum_is_not_zero():
    b, _, _ = forward()
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy, 100.0)
    _, sums = words.backward_look_for(check, 100.0)
    assert "clearly not 0: eps = 100 is not small next to the variance" in sums


def test_running_text_carries_the_last_values_and_the_bias_factor():
    rs = lesson.running_statistics(3.0, 2.0, 2, 0.1, 400, seed=0)
    text = words.running_look_for(rs)
    assert "After 400 batches of m = 2" in text
    assert f"running mean **{rs.running_mean[-1]:.3f}** (true 3)" in text
    assert "(m-1)/m = 0.500 of the truth" in text and "expected 2.000" in text
    assert f"**{rs.population_var[-1]:.3f}** (dashed)" in text


def test_modes_text_says_whether_eval_mode_found_the_true_z_score():
    close = lesson.running_statistics(3.0, 2.0, 64, 0.01, 1000, seed=0)
    assert abs(close.eval_xhat - 1) < words.CONVERGED
    text = words.modes_look_for(close)
    assert f"**{close.eval_xhat:.3f}**, close to the true 1." in text
    lo, hi = np.percentile(close.train_xhat, [5, 95])
    assert f"**{lo:.2f} to {hi:.2f}**" in text
    noisy = [lesson.running_statistics(3.0, 2.0, 2, 1.0, 50, seed=s) for s in range(10)]
    far = next(rs for rs in noisy if abs(rs.eval_xhat - 1) >= words.CONVERGED)
    text = words.modes_look_for(far)
    assert "close to the true 1" not in text and "the last ~1 batches" in text


def test_batch_size_text_measures_the_spread_at_each_size():
    noise = lesson.batch_noise(3.0, 2.0, seed=0)
    text = words.batch_size_look_for(noise)
    i2 = list(noise.sizes).index(2)
    assert f"**{noise.xhat_pct[i2, 2] - noise.xhat_pct[i2, 0]:.2f}** standard deviations at m = 2" \
        in text
    assert "(xhat is always +1 or -1 there)" in text  # m = 2, small eps: xhat is +-1
    spreads = [float(s) for s in re.findall(r"(\d+\.\d+) at m = (?:4|32|128)", text)]
    assert len(spreads) == 3 and spreads == sorted(spreads, reverse=True)  # shrinks with m
    wide_eps = lesson.batch_noise(3.0, 0.01, seed=0, eps=1.0)  # eps swamps the variance
    assert "always +1 or -1" not in words.batch_size_look_for(wide_eps)


@pytest.mark.parametrize("shape,channel", [((2, 3, 4, 4), 0), ((3, 2, 5, 5), 1)])
def test_conv_text_carries_the_channel_and_the_reshape_check(shape, channel):
    tensor = lesson.example_tensor(*shape, seed=0)
    cc = lesson.channel_check(tensor)
    text = words.conv_look_for(cc, tensor.shape, channel)
    n, c, h, w = shape
    assert f"N x H x W = **{n * h * w}**" in text
    assert f"Channel {channel + 1}: mean **{cc.mean[channel]:.4f}**" in text
    assert f"({n * h * w}, {c}): largest difference {cc.max_abs_diff:.1e}, equal up to rounding" \
        in text
    assert f"off by up to {cc.naive_max_abs_diff:.2f}" in text


def test_gradient_rows_follow_the_feature_and_cover_every_node():
    b, _, _ = forward()
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy, DEFAULT_EPS)
    rows = words.gradient_rows(check, 2)
    assert len(rows) == len(check.nodes) + len(check.params) == 12
    dx = next(r for r in rows if r["node"] == "x")
    assert dx["backprop"] == words.numbers(check.dx[:, 2], 3)
    dgamma = next(r for r in rows if r["node"] == "gamma")
    assert dgamma["backprop"] == words.numbers(check.dgamma[2:3], 3)
    assert all(r["relative error"] < lesson.GRADCHECK_TOLERANCE for r in rows)
