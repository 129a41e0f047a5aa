"""Tests for bn_core/data/datasets.py: toy data, test shift, whitening, batch order."""

import numpy as np
import pytest

from bn_core.data.datasets import (
    TOY_DATASETS,
    WHITENING_METHODS,
    Dataset,
    batch_label_mix,
    batch_order,
    build_toy_dataset,
    class_mix_entropy,
    fit_whitening,
    n_classes_of,
    shift_points,
)

NAMES = sorted(TOY_DATASETS)


# --- toy generators -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_generator_shapes_dtypes_and_balance(name):
    x, y = TOY_DATASETS[name](301, 0.1, np.random.default_rng(0))
    k = n_classes_of(name)
    assert x.shape == (301, 2) and x.dtype == np.float64
    assert y.shape == (301,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    assert np.all(np.abs(x.mean(axis=0)) < 0.25), "roughly centred at the origin"
    assert np.all(np.abs(x) < 2.5), "coordinates within about [-2, 2]"


def test_n_classes():
    assert {name: n_classes_of(name) for name in NAMES} == {
        "blobs": 3, "circles": 2, "moons": 2, "spiral": 3, "xor": 2,
    }
    with pytest.raises(ValueError, match="nope"):
        n_classes_of("nope")


@pytest.mark.parametrize("name", NAMES)
def test_generator_is_deterministic_per_seed(name):
    a = TOY_DATASETS[name](100, 0.2, np.random.default_rng(7))
    b = TOY_DATASETS[name](100, 0.2, np.random.default_rng(7))
    c = TOY_DATASETS[name](100, 0.2, np.random.default_rng(8))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def _within_class_spread(x, y):
    return np.mean([x[y == c].std(axis=0).mean() for c in np.unique(y)])


@pytest.mark.parametrize("name", NAMES)
def test_noise_widens_the_classes(name):
    gen = TOY_DATASETS[name]
    # residual of the same underlying points: noise adds spread in data units
    quiet = _within_class_spread(*gen(2000, 0.0, np.random.default_rng(1)))
    noisy = _within_class_spread(*gen(2000, 0.4, np.random.default_rng(1)))
    assert noisy > quiet * 1.05


def test_noise_is_in_data_units_for_circles():
    x, y = TOY_DATASETS["circles"](4000, 0.0, np.random.default_rng(2))
    radii = np.linalg.norm(x, axis=1)
    assert np.allclose(radii[y == 0], 0.7) and np.allclose(radii[y == 1], 1.5)
    x, y = TOY_DATASETS["circles"](4000, 0.1, np.random.default_rng(2))
    radii = np.linalg.norm(x, axis=1)
    assert np.std(radii[y == 1] - 1.5) == pytest.approx(0.1, rel=0.1)


def test_xor_labels_follow_the_quadrants_without_noise():
    x, y = TOY_DATASETS["xor"](500, 0.0, np.random.default_rng(3))
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))


# --- shift_points ----------------------------------------------------------------------


def test_shift_points_exact_on_simple_points():
    pts = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]])
    assert np.allclose(shift_points(pts, rotate_deg=90), [[0, 1], [-1, 0], [-3, 2]])
    assert np.allclose(shift_points(pts, scale=2.0), 2 * pts)
    assert np.allclose(shift_points(pts, translate=(1.5, -2.0)), pts + [1.5, -2.0])
    # scale and rotate about the centre, then translate
    got = shift_points(np.array([[2.0, 1.0]]), translate=(10, 0), rotate_deg=90, scale=2, centre=(1.0, 1.0))
    assert np.allclose(got, [[1.0 + 10, 1.0 + 2.0]])
    assert np.allclose(shift_points(pts), pts)


def test_shift_points_keeps_the_centre_fixed():
    centre = np.array([3.0, -1.0])
    got = shift_points(centre[None, :], rotate_deg=33, scale=0.4, centre=centre)
    assert np.allclose(got, centre[None, :])


# --- build_toy_dataset -----------------------------------------------------------------


def test_build_shapes_and_sizes():
    d = build_toy_dataset("spiral", n_samples=600, seed=1)
    assert isinstance(d, Dataset)
    assert d.x_train.shape == (600, 2) and d.x_train.dtype == np.float32
    assert d.x_heldout.shape == (300, 2) and d.x_test.shape == (300, 2)
    assert d.y_train.dtype == np.int64
    assert (d.n_classes, d.input_dim, d.image_shape, d.whitener.method) == (3, 2, None, "none")
    small = build_toy_dataset("moons", n_samples=100)
    assert len(small.x_heldout) == 200 and len(small.x_test) == 200


def test_build_is_deterministic_and_splits_are_independent():
    a = build_toy_dataset("moons", seed=5)
    b = build_toy_dataset("moons", seed=5)
    c = build_toy_dataset("moons", seed=6)
    for field in ("x_train", "y_train", "x_heldout", "x_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_heldout, a.x_test)
    assert not np.array_equal(a.x_train[:200], a.x_heldout)


def test_only_the_test_split_is_shifted():
    base = build_toy_dataset("blobs", seed=2)
    moved = build_toy_dataset("blobs", seed=2, translate=(1.0, -0.5), rotate_deg=30, scale=1.5)
    assert np.array_equal(base.x_train, moved.x_train)
    assert np.array_equal(base.x_heldout, moved.x_heldout)
    expected = shift_points(base.x_test.astype(np.float64), (1.0, -0.5), 30, 1.5, centre=base.x_train.astype(np.float64).mean(axis=0))
    assert np.allclose(moved.x_test, expected, atol=1e-5)
    assert np.array_equal(base.y_test, moved.y_test)


def test_shift_is_about_the_training_centroid():
    d = build_toy_dataset("circles", n_samples=2000, seed=0, far_offset=4.0, scale=2.0)
    plain = build_toy_dataset("circles", n_samples=2000, seed=0, far_offset=4.0)
    centroid = d.x_train.mean(axis=0)
    assert np.allclose(d.x_test - centroid, 2.0 * (plain.x_test - centroid), atol=1e-4)


def test_far_offset_moves_every_split():
    near = build_toy_dataset("xor", seed=3)
    far = build_toy_dataset("xor", seed=3, far_offset=5.0)
    for field in ("x_train", "x_heldout", "x_test"):
        shift = getattr(far, field).mean(axis=0) - getattr(near, field).mean(axis=0)
        assert np.allclose(shift, [5.0, 5.0], atol=1e-5)
    assert np.linalg.norm(far.x_train.mean(axis=0)) > 6.5


def test_whitener_is_fitted_on_offset_training_data():
    d = build_toy_dataset("moons", seed=0, far_offset=8.0, whitening="standardize")
    z = d.model_input(d.x_train)
    assert z.dtype == np.float32
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-3)
    assert np.allclose(d.whitener.mean, d.x_train.astype(np.float64).mean(axis=0), atol=1e-5)
    # held-out data comes from the same distribution: roughly standardized too
    zh = d.model_input(d.x_heldout)
    assert np.all(np.abs(zh.mean(axis=0)) < 0.2)


def test_model_input_without_whitening_is_the_raw_data():
    d = build_toy_dataset("circles")
    assert np.array_equal(d.model_input(d.x_test), d.x_test)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="swirl"):
        build_toy_dataset("swirl")
    with pytest.raises(ValueError, match="sphere"):
        build_toy_dataset("moons", whitening="sphere")


def test_viewport_covers_all_points_with_margin():
    d = build_toy_dataset("moons", seed=4, translate=(3.0, -2.0), rotate_deg=50)
    xmin, xmax, ymin, ymax = d.viewport(margin=0.1)
    pts = np.concatenate([d.x_train, d.x_heldout, d.x_test])
    assert xmin < pts[:, 0].min() and pts[:, 0].max() < xmax
    assert ymin < pts[:, 1].min() and pts[:, 1].max() < ymax
    span = pts[:, 0].max() - pts[:, 0].min()
    assert pts[:, 0].min() - xmin == pytest.approx(0.1 * span, rel=1e-4)
    xs, ys, grid = d.grid_points(resolution=30)
    assert xs.shape == (30,) and ys.shape == (30,) and grid.shape == (900, 2)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == pytest.approx((xmin, xmax, ymin, ymax), rel=1e-5)
    assert np.array_equal(grid[1 * 30 + 2], [xs[2], ys[1]])


def test_viewport_is_for_2d_data_only():
    d = build_toy_dataset("moons")
    flat = Dataset(**{**d.__dict__, "input_dim": 784})
    with pytest.raises(ValueError, match="2-D"):
        flat.viewport()


# --- whitening -------------------------------------------------------------------------


@pytest.fixture
def correlated():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(5000, 2)) @ np.array([[2.0, 0.0], [1.2, 0.5]]) + [4.0, -3.0]
    return x


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_pca_and_zca_give_zero_mean_identity_covariance(correlated, method):
    w = fit_whitening(correlated, method)
    z = w.apply(correlated)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-10)
    assert np.allclose(np.cov(z.T, bias=True), np.eye(2), atol=1e-4)


def test_standardize_gives_unit_variance_but_keeps_correlation(correlated):
    z = fit_whitening(correlated, "standardize").apply(correlated)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-10)
    assert np.allclose(z.var(axis=0), 1, atol=1e-4)
    assert abs(np.corrcoef(z.T)[0, 1]) > 0.5


def test_none_is_the_identity(correlated):
    w = fit_whitening(correlated, "none")
    assert w.apply(correlated) is correlated  # no copy of possibly large inputs
    assert np.array_equal(w.matrix, np.eye(2))


def test_zca_stays_closest_to_the_original(correlated):
    centred = (correlated - correlated.mean(axis=0)) / correlated.std()
    dist = {}
    for method in ("pca", "zca"):
        z = fit_whitening(correlated, method).apply(correlated)
        dist[method] = np.mean(np.sum((z - centred) ** 2, axis=1))
    assert dist["zca"] < dist["pca"]
    # ZCA's matrix is symmetric (no rotation away from the original axes)
    m = fit_whitening(correlated, "zca").matrix
    assert np.allclose(m, m.T)


def test_pca_puts_the_largest_variance_first(correlated):
    w = fit_whitening(correlated, "pca")
    cov = np.cov(correlated.T, bias=True)
    first_axis = w.matrix[:, 0] / np.linalg.norm(w.matrix[:, 0])
    assert first_axis @ cov @ first_axis == pytest.approx(np.linalg.eigvalsh(cov).max())


def test_whitening_applies_the_training_fit_to_other_data(correlated):
    w = fit_whitening(correlated, "zca")
    other = correlated[:10] + 1.0
    assert np.allclose(w.apply(other), (other - w.mean) @ w.matrix)


def test_whitening_of_degenerate_data_stays_finite():
    x = np.column_stack([np.linspace(0, 1, 50), np.full(50, 3.0)])
    for method in WHITENING_METHODS:
        assert np.all(np.isfinite(fit_whitening(x, method).apply(x)))


def test_unknown_whitening_method():
    with pytest.raises(ValueError, match="whatever"):
        fit_whitening(np.zeros((3, 2)), "whatever")


# --- batch order (T8) ------------------------------------------------------------------

Y2 = np.arange(400) % 2
Y3 = np.random.default_rng(0).permutation(np.arange(600) % 3)


def _entropy(y, shuffle, epochs=range(8), batch_size=20):
    k = int(y.max()) + 1
    values = [
        class_mix_entropy(batch_label_mix(y, batch_order(y, shuffle, 0, e), batch_size, len(y) // batch_size, k))
        for e in epochs
    ]
    return float(np.mean(values))


@pytest.mark.parametrize("y", [Y2, Y3])
def test_batch_order_is_a_permutation(y):
    for s in (0.0, 0.3, 1.0):
        order = batch_order(y, s, seed=1, epoch=2)
        assert order.dtype == np.int64 and np.array_equal(np.sort(order), np.arange(len(y)))


@pytest.mark.parametrize("y", [Y2, Y3])
def test_shuffle_zero_sorts_by_class(y):
    order = batch_order(y, 0.0, seed=3, epoch=0)
    assert np.array_equal(y[order], np.sort(y))
    assert _entropy(y, 0.0) < 0.05


@pytest.mark.parametrize("y", [Y2, Y3])
def test_shuffle_one_mixes_classes(y):
    k = int(y.max()) + 1
    assert _entropy(y, 1.0) > 0.9 * np.log2(k)


def test_batch_order_is_deterministic_per_seed_and_epoch():
    a = batch_order(Y3, 0.5, seed=4, epoch=1)
    assert np.array_equal(a, batch_order(Y3, 0.5, seed=4, epoch=1))
    assert not np.array_equal(a, batch_order(Y3, 0.5, seed=4, epoch=2))
    assert not np.array_equal(a, batch_order(Y3, 0.5, seed=5, epoch=1))


@pytest.mark.parametrize("y", [Y2, Y3])
def test_more_shuffle_gives_more_mixed_batches(y):
    levels = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
    entropies = [_entropy(y, s) for s in levels]
    assert all(b > a for a, b in zip(entropies, entropies[1:])), entropies
    assert entropies[1] > 0.02, "the blend starts moving at once, with no dead zone near 0"


def test_batch_label_mix_counts():
    y = np.array([0, 0, 1, 2, 2, 2, 1])
    mix = batch_label_mix(y, np.arange(7), batch_size=3, n_batches=10, n_classes=3)
    assert mix.tolist() == [[2, 1, 0], [0, 0, 3], [0, 1, 0]]
    assert batch_label_mix(y, np.arange(7), 3, 1, 3).shape == (1, 3)


def test_class_mix_entropy_values():
    assert class_mix_entropy(np.array([[5, 0], [0, 5]])) == 0.0
    assert class_mix_entropy(np.array([[5, 5], [2, 2]])) == pytest.approx(1.0)
    assert class_mix_entropy(np.array([[1, 1, 1, 1]])) == pytest.approx(2.0)
    assert class_mix_entropy(np.array([[4, 0], [0, 0]])) == 0.0
