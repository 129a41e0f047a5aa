"""Tests for bn_core.lessons.inside_bn (the computations of the "Inside the BN layer" page) and the
figure builders of bn_core.figures.inside_bn."""
import numpy as np
import pytest

from bn_core.lessons import inside_bn as lesson
from bn_core.nets.batchnorm import GRAPH_NODE_NAMES, batchnorm_forward
from bn_core.figures import inside_bn as figs
from figuretest import checked, values


def test_example_batch_shapes_and_per_feature_affine():
    b = lesson.example_batch(4, 3, seed=0)
    assert b.x.shape == b.dy.shape == (4, 3)
    assert b.gamma.shape == b.beta.shape == (3,)
    assert np.allclose(b.x, np.round(b.x, 1))  # easy to read and edit
    assert len(set(b.gamma)) == 3 and len(set(b.beta)) == 3
    assert not np.array_equal(b.x, lesson.example_batch(4, 3, seed=1).x)
    np.testing.assert_array_equal(b.x, lesson.example_batch(4, 3, seed=0).x)


def test_checked_table_names_empty_and_non_finite_cells():
    good = lesson.checked_table("x", [[1, 2], [3, 4]], (2, 2), ["x1", "x2"])
    assert good.dtype == np.float64
    with pytest.raises(ValueError, match=r"row 1, x2; row 2, x1"):
        lesson.checked_table("x", [[1, None], [np.inf, 2]], (2, 2), ["x1", "x2"])
    with pytest.raises(ValueError, match=r"beta, x1"):
        lesson.checked_table("gamma/beta", [[1, 2], [np.nan, 0]], (2, 2), ["x1", "x2"],
                             ["gamma", "beta"])
    with pytest.raises(ValueError, match="empty"):
        lesson.checked_table("x", np.empty((0, 3)), (0, 3))
    with pytest.raises(ValueError, match="overflow"):
        lesson.checked_table("x", [[1e200, 1.0]], (1, 2))
    with pytest.raises(ValueError, match="number"):
        lesson.checked_table("x", [["a", "b"]], (1, 2))


def test_staged_forward_equals_batchnorm_forward_and_honours_overrides():
    b = lesson.example_batch(5, 4, seed=3)
    y, cache = batchnorm_forward(b.x, b.gamma, b.beta, 1e-5)
    np.testing.assert_allclose(lesson.staged_forward(b.x, b.gamma, b.beta, 1e-5), y, atol=1e-12)
    shifted = lesson.staged_forward(b.x, b.gamma, b.beta, 1e-5, {"xhat": cache.xhat + 1.0})
    np.testing.assert_allclose(shifted, y + b.gamma, atol=1e-12)


def test_backward_check_every_node_agrees_on_the_classic_case():
    b = lesson.example_batch(4, 3, seed=0)
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy)
    assert [n.name for n in check.nodes] == list(GRAPH_NODE_NAMES)
    assert [p.name for p in check.params] == ["x", "gamma", "beta"]
    for row in check.nodes + check.params:
        assert row.rel_error < lesson.FLOAT64_AGREEMENT, row.name
        assert row.agrees
    assert check.compact_vs_graph < 1e-12
    np.testing.assert_allclose(check.dx_sum, 0.0, atol=1e-12)


def test_dx_orthogonal_to_xhat_only_as_eps_vanishes():
    b = lesson.example_batch(4, 3, seed=2)
    tiny = lesson.backward_check(b.x, b.gamma, b.beta, b.dy, eps=1e-12)
    big = lesson.backward_check(b.x, b.gamma, b.beta, b.dy, eps=1.0)
    assert np.max(np.abs(tiny.dx_dot_xhat)) < 1e-9
    assert np.max(np.abs(big.dx_dot_xhat)) > 1e-3


def test_batch_of_one_gives_zero_gradient_to_x_and_checks_cleanly():
    b = lesson.example_batch(1, 3, seed=0)
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy)
    np.testing.assert_array_equal(check.dx, 0.0)
    assert all(np.isfinite(r.rel_error) and r.agrees for r in check.nodes + check.params)


def test_nearly_constant_feature_still_checks_within_tolerance():
    x = np.array([[12.0, 1.0], [12.0001, 2.0], [12.0, 3.0]])
    dy = np.array([[1.0, 0.3], [0.0, -1.0], [-1.0, 2.0]])
    check = lesson.backward_check(x, np.ones(2), np.zeros(2), dy)
    assert max(r.rel_error for r in check.nodes + check.params) < lesson.GRADCHECK_TOLERANCE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pages_own_suggestions_do_not_raise_false_alarms(seed):
    """One x set to 1000 (the page's "Try") and N = 2 (near-zero true gradients) used to give
    2e-6 to 3e-4 against a 1e-6 threshold: steps scaled to the values and a floor at what
    float64 rounding can resolve keep correct gradients agreeing."""
    b = lesson.example_batch(4, 3, seed)
    x = b.x.copy()
    x[0, 0] = 1000.0
    assert lesson.worst_error(lesson.backward_check(x, b.gamma, b.beta, b.dy)) < 1e-8
    two = lesson.example_batch(2, 3, seed)
    check = lesson.backward_check(two.x, two.gamma, two.beta, two.dy)
    assert lesson.worst_error(check) < 1e-7
    assert np.max(np.abs(check.dx)) < 1e-3  # the true dx is near zero: N = 2 pins xhat at +-1


@pytest.mark.parametrize("case", ["classic", "x=1000", "N=2", "nearly constant"])
def test_a_one_percent_error_in_any_node_is_still_caught(case):
    """The floor must not make the check vacuous."""
    import dataclasses

    from bn_core.nets.batchnorm import difference_noise, relative_error

    b = lesson.example_batch(2 if case == "N=2" else 4, 3, 0)
    x, eps = b.x.copy(), 1e-5
    if case == "x=1000":
        x[0, 0] = 1000.0
    if case == "nearly constant":
        x[:, 0] = [12.0, 12.0001, 12.0, 12.0]
        eps = 1e-8
    check = lesson.backward_check(x, b.gamma, b.beta, b.dy, eps)
    _, cache = batchnorm_forward(x, b.gamma, b.beta, eps)
    magnitude = lesson.loss_magnitude(cache, b.dy)
    for row in check.nodes + check.params:
        floor = difference_noise(magnitude, row.step) / lesson.GRADCHECK_TOLERANCE
        wrong = relative_error(row.grad * 1.01, row.numeric, floor)
        assert wrong > lesson.GRADCHECK_TOLERANCE, row.name
        assert dataclasses.replace(row, rel_error=wrong).agrees is False


def test_steps_scale_with_the_value_and_the_spread():
    from bn_core.nets.batchnorm import difference_step

    eps = np.finfo(float).eps
    assert difference_step(1.0, 1.0) == pytest.approx(np.cbrt(eps))
    assert difference_step(1000.0, 400.0) == pytest.approx(np.cbrt(eps * 1000 * 400 ** 2))
    assert difference_step(1000.0, 5.0) / difference_step(12.0, 5.0) == \
        pytest.approx(np.cbrt(1000 / 12))  # a larger value: a larger step
    assert difference_step(12.0, 3e-3) < difference_step(12.0, 5.0) / 100  # a tiny spread
    np.testing.assert_array_equal(difference_step([0.0, -2.0], [0.0, 2.0]),
                                  [np.cbrt(eps), np.cbrt(eps * 8)])


def test_verdict_tells_a_coarse_step_from_rounding_and_from_a_genuine_disagreement():
    import dataclasses

    b = lesson.example_batch(4, 3, 0)
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy)
    assert "agree" in lesson.gradient_check_verdict(check)

    def failing(error, finer):
        node = dataclasses.replace(check.nodes[3], rel_error=error, finer_error=finer)
        return dataclasses.replace(check, nodes=check.nodes[:3] + [node] + check.nodes[4:])

    coarse = lesson.gradient_check_verdict(failing(3e-4, 2e-6))
    assert "**3.0e-04** (at var)" in coarse and "falls to 2.0e-06" in coarse
    assert "too coarse" in coarse and "not a wrong backward rule" in coarse
    assert "rounding error dominates" in lesson.gradient_check_verdict(failing(3e-4, 5e-2))
    genuine = lesson.gradient_check_verdict(failing(3e-2, 3e-2))
    assert "genuinely disagree at this node" in genuine


def test_per_feature_steps_equal_one_step_when_they_are_uniform():
    from bn_core.nets.batchnorm import numerical_gradient

    b = lesson.example_batch(3, 2, seed=4)
    f = lambda v: batchnorm_forward(v, b.gamma, b.beta)[0]  # noqa: E731
    np.testing.assert_allclose(numerical_gradient(f, b.x, b.dy, np.full(2, 1e-5)),
                               numerical_gradient(f, b.x, b.dy, 1e-5), rtol=0, atol=1e-12)


def test_node_table_rows_for_one_feature():
    b = lesson.example_batch(4, 3, seed=0)
    rows = lesson.node_table(lesson.backward_check(b.x, b.gamma, b.beta, b.dy), feature=1)
    assert len(rows) == 12
    mu = rows[0]
    assert mu["node"] == "mu" and float(mu["value"]) == pytest.approx(b.x[:, 1].mean(), rel=1e-3)
    assert rows[-1]["node"] == "beta" and float(rows[-1]["dL/dnode (backprop)"]) == \
        pytest.approx(b.dy[:, 1].sum(), rel=1e-3)


def test_running_statistics_converge_and_the_correction_removes_the_bias():
    rs = lesson.running_statistics(mean=3.0, std=2.0, m=4, momentum=0.1, n_batches=2000, seed=0)
    assert rs.running_mean[-1] == pytest.approx(3.0, abs=0.5)
    # mean of biased batch variances ~ (m-1)/m * var = 3; with m/(m-1) ~ 4
    assert rs.average_batch_var[-1] == pytest.approx(3.0, rel=0.06)
    assert rs.population_var[-1] == pytest.approx(4.0, rel=0.06)
    assert rs.population_mean[-1] == pytest.approx(3.0, abs=0.06)
    np.testing.assert_allclose(rs.population_var, rs.average_batch_var * 4 / 3)
    assert rs.eval_xhat == pytest.approx(1.0, abs=0.3)
    assert np.std(rs.train_xhat) > 0.2  # training mode depends on the batch


def test_running_statistics_refuse_a_batch_of_one():
    with pytest.raises(ValueError, match="batch of 1"):
        lesson.running_statistics(0.0, 1.0, m=1, momentum=0.1, n_batches=10)


def test_batch_noise_shrinks_with_m_and_breaks_at_one():
    noise = lesson.batch_noise(0.0, 1.0, n_batches=1000, seed=0)
    i1, i2 = list(noise.sizes).index(1), list(noise.sizes).index(2)
    np.testing.assert_array_equal(noise.var_pct[i1], 0.0)    # one value: variance 0
    np.testing.assert_array_equal(noise.xhat_pct[i1], 0.0)   # ... and xhat 0
    np.testing.assert_allclose(np.abs(noise.xhat_pct[i2][[0, 2]]), 1.0, atol=1e-3)  # +-1
    width = noise.mean_pct[:, 2] - noise.mean_pct[:, 0]
    assert np.all(np.diff(width) < 0)
    assert noise.var_pct[-1, 1] == pytest.approx(noise.expected_var[-1], rel=0.05)


def test_batch_of_one_refusals_quote_torch():
    msgs = lesson.batch_of_one_refusals()
    assert "Expected more than 1 value per channel" in msgs["torch"]
    assert "batch of 1" in msgs["bn_core"]


def test_channel_check_reshape_route_and_naive_reshape():
    x = lesson.example_tensor(2, 3, 4, 4, seed=0)
    cc = lesson.channel_check(x)
    assert cc.values_per_channel == 32
    assert cc.max_abs_diff < 1e-12
    assert cc.naive_max_abs_diff > 0.5  # channels have different means: the naive route mixes
    np.testing.assert_allclose(cc.y_mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(cc.y_std, 1.0, atol=1e-4)
    assert np.all(np.diff(cc.mean) > 0)  # channel k has mean ~2k


# --------------------------------------------------------------------------- figures


def _points(spec) -> int:
    return sum(values(t, "x" if t.get("x") is not None else "z").size for t in spec["data"])


def test_figure_builders_return_valid_data():
    b = lesson.example_batch(4, 3, seed=0)
    y, cache = batchnorm_forward(b.x, b.gamma, b.beta, 1e-5)
    check = lesson.backward_check(b.x, b.gamma, b.beta, b.dy)
    rs = lesson.running_statistics(3.0, 2.0, 4, 0.1, 50)
    noise = lesson.batch_noise(3.0, 2.0, n_batches=100)
    x = lesson.example_tensor(2, 3, 4, 4)
    specs = [checked(fig) for fig in (
        figs.algorithm1_figure(b.x, cache.xhat, y),
        figs.gradient_check_figure(check),
        figs.running_statistics_figure(rs),
        figs.train_eval_figure(rs),
        figs.batch_noise_figure(noise),
        figs.channel_slab_figure(x, channel=1),
    )]
    for spec in specs:
        assert spec["layout"]["title"]["text"]
        assert _points(spec) > 0
    slab = specs[-1]
    assert len(slab["data"]) == 2 * 3 and len(slab["layout"]["shapes"]) == 1
    np.testing.assert_allclose(values(slab["data"][4], "z"), x[1, 1], rtol=1e-6)
    # one title per column (channel), none per cell, and one width title under the grid
    # (repeated under each narrow column they ran together): they cannot collide
    assert [a["text"] for a in slab["layout"]["annotations"]] == [
        "channel 1", "<b>channel 2</b>", "channel 3", "W = 4 columns"]
    assert not any((slab["layout"][k].get("title") or {}).get("text")
                   for k in slab["layout"] if k.startswith("xaxis"))
    assert values(specs[1]["data"][0])[0] > 0
    running = specs[2]
    np.testing.assert_allclose(values(running["data"][1]), rs.running_mean, rtol=1e-6)
    medians = [t for t in specs[4]["data"] if t.get("name") == "median batch"]
    np.testing.assert_allclose(values(medians[1]), noise.var_pct[:, 1], rtol=1e-6)
    assert list(values(medians[1], "x")) == [str(int(m)) for m in noise.sizes]


def test_algorithm1_figure_marks_each_panel_mean_and_spread():
    b = lesson.example_batch(4, 2, seed=0)
    y, cache = batchnorm_forward(b.x, b.gamma, b.beta, 1e-5)
    spec = checked(figs.algorithm1_figure(b.x, cache.xhat, y))
    centres = [t for t in spec["data"] if t["name"] == "batch mean +- batch std"]
    assert len(centres) == 3
    np.testing.assert_allclose(values(centres[0], "x"), b.x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(values(centres[1]["error_x"], "array"), 1.0, atol=1e-5)
    np.testing.assert_allclose(values(centres[2], "x"), b.beta, atol=1e-5)
    np.testing.assert_allclose(values(centres[2]["error_x"], "array"), np.abs(b.gamma),
                               rtol=1e-5)


def test_gradient_check_figure_draws_zero_errors_on_the_floor():
    b = lesson.example_batch(1, 2, seed=0)
    spec = checked(figs.gradient_check_figure(lesson.backward_check(b.x, b.gamma, b.beta, b.dy)))
    assert values(spec["data"][0]).min() == pytest.approx(figs.ZERO_FLOOR)
    assert "0" in list(spec["data"][0]["text"])
    assert spec["layout"]["yaxis"]["ticktext"][-1] == "1"
