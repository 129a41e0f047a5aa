"""2-D toy data sets, test-time shift, input whitening and batch order.

These make T1 (a test shift breaks a learned boundary), T2 (whitening and data far from
the origin) and T8 (batches sorted by class) measurable. All randomness comes from an
explicit numpy Generator, so every data set is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# ---------------------------------------------------------------------------
# Toy data sets: (n, noise, rng) -> (x float64 (n, 2), y int64 (n,)), centred at the origin
# ---------------------------------------------------------------------------

BLOB_RADIUS = 1.2  # distance of each blob centre from the origin
BLOB_SPREAD = 0.25  # standard deviation of a blob before any extra noise
CIRCLE_RADII = (0.7, 1.5)  # inner ring (class 0), outer ring (class 1)
XOR_RANGE = (0.1, 1.5)  # |coordinate| range of XOR points: a small gap along the axes
SPIRAL_ARMS = 3
SPIRAL_RADII = (0.15, 1.7)  # radius at the start and end of each arm
SPIRAL_TURN = 1.5 * np.pi  # angle each arm turns through from start to end


def _check_args(n: int, noise: float) -> None:
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")


def _balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Labels with class sizes differing by at most one, in random order."""
    return rng.permutation(np.arange(n) % n_classes).astype(np.int64)


def _with_noise(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, 1.0, size=x.shape) * noise


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles of radius 1 (the classic 'moons'), shifted to centre them."""
    _check_args(n, noise)
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    return _with_noise(x, noise, rng), y


def circles(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric rings: class 0 inside (radius 0.7), class 1 outside (radius 1.5)."""
    _check_args(n, noise)
    y = _balanced_labels(n, 2, rng)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    radius = np.asarray(CIRCLE_RADII)[y]
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _with_noise(x, noise, rng), y


def gaussian_blobs(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three round Gaussian blobs on a circle of radius 1.2; noise widens each blob."""
    _check_args(n, noise)
    y = _balanced_labels(n, 3, rng)
    angles = np.deg2rad([90.0, 210.0, 330.0])
    centres = BLOB_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    spread = np.hypot(BLOB_SPREAD, noise)
    x = centres[y] + rng.normal(0.0, spread, size=(n, 2))
    return x, y


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in the four quadrants: class 0 where x*y > 0, class 1 where x*y < 0."""
    _check_args(n, noise)
    y = _balanced_labels(n, 2, rng)
    magnitude = rng.uniform(*XOR_RANGE, size=(n, 2))
    sign_x = rng.choice([-1.0, 1.0], size=n)
    sign_y = np.where(y == 0, sign_x, -sign_x)
    x = magnitude * np.stack([sign_x, sign_y], axis=1)
    return _with_noise(x, noise, rng), y


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms, one class per arm."""
    _check_args(n, noise)
    y = _balanced_labels(n, SPIRAL_ARMS, rng)
    t = rng.uniform(0.0, 1.0, size=n)
    radius = SPIRAL_RADII[0] + (SPIRAL_RADII[1] - SPIRAL_RADII[0]) * t
    angle = 2.0 * np.pi * y / SPIRAL_ARMS + SPIRAL_TURN * t
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _with_noise(x, noise, rng), y


ToyGenerator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]

TOY_DATASETS: dict[str, ToyGenerator] = {
    "moons": two_moons,
    "circles": circles,
    "blobs": gaussian_blobs,
    "xor": xor,
    "spiral": spiral,
}
TOY_N_CLASSES: dict[str, int] = {"moons": 2, "circles": 2, "blobs": 3, "xor": 2, "spiral": SPIRAL_ARMS}


def n_classes_of(name: str) -> int:
    """Number of classes of the toy data set `name`."""
    if name not in TOY_N_CLASSES:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {sorted(TOY_DATASETS)}")
    return TOY_N_CLASSES[name]


# ---------------------------------------------------------------------------
# Test-time shift (T1)
# ---------------------------------------------------------------------------


def shift_points(
    x: np.ndarray,
    translate: tuple[float, float] = (0.0, 0.0),
    rotate_deg: float = 0.0,
    scale: float = 1.0,
    centre: tuple[float, float] | np.ndarray | None = None,
) -> np.ndarray:
    """Scale and rotate (counter-clockwise) 2-D points about `centre`, then translate them."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"shift_points needs points of shape (n, 2), got {x.shape}")
    c = np.zeros(2) if centre is None else np.asarray(centre, dtype=np.float64)
    theta = np.deg2rad(rotate_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = (x - c) @ (scale * rotation).T + c + np.asarray(translate, dtype=np.float64)
    return moved.astype(np.result_type(x.dtype, np.float32), copy=False)


# ---------------------------------------------------------------------------
# Input whitening (T2): fitted on training data, applied to anything
# ---------------------------------------------------------------------------

WHITENING_METHODS = ("none", "standardize", "pca", "zca")
WHITENING_EPS = 1e-5  # added to variances/eigenvalues so flat directions do not blow up


@dataclass(frozen=True, eq=False)
class Whitener:
    """An affine map x -> (x - mean) @ matrix fitted on training data."""

    method: str
    mean: np.ndarray  # (d,)
    matrix: np.ndarray  # (d, d)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Whiten `x` (n, d); method 'none' returns `x` unchanged (no copy)."""
        x = np.asarray(x)
        if self.method == "none":
            return x
        return ((x - self.mean) @ self.matrix).astype(np.result_type(x.dtype, np.float32), copy=False)

    @classmethod
    def identity(cls, dim: int) -> "Whitener":
        """The 'none' whitener for `dim`-dimensional inputs."""
        return cls("none", _frozen(np.zeros(dim)), _frozen(np.eye(dim)))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def fit_whitening(x_train: np.ndarray, method: str) -> Whitener:
    """Fit a whitener on training data.

    standardize: per-feature zero mean and unit variance. pca: rotate onto the principal
    axes (largest variance first) and scale each to unit variance. zca: the same, rotated
    back, which is the whitening that changes the data least. After pca/zca the training
    data has mean 0 and covariance I (up to WHITENING_EPS).
    """
    if method not in WHITENING_METHODS:
        raise ValueError(f"unknown whitening method {method!r}; choose one of {WHITENING_METHODS}")
    x = np.asarray(x_train, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"fit_whitening needs a non-empty (n, d) array, got shape {x.shape}")
    dim = x.shape[1]
    if method == "none":
        return Whitener.identity(dim)
    mean = x.mean(axis=0)
    centred = x - mean
    if method == "standardize":
        return Whitener(method, _frozen(mean), _frozen(np.diag(1.0 / np.sqrt(centred.var(axis=0) + WHITENING_EPS))))
    cov = centred.T @ centred / len(x)
    eigvals, eigvecs = np.linalg.eigh(cov)
    eigvals, eigvecs = np.clip(eigvals[::-1], 0.0, None), eigvecs[:, ::-1]
    # eigh's signs are arbitrary: make the largest entry of each axis positive
    signs = np.sign(eigvecs[np.argmax(np.abs(eigvecs), axis=0), np.arange(dim)])
    eigvecs = eigvecs * np.where(signs == 0, 1.0, signs)
    pca = eigvecs / np.sqrt(eigvals + WHITENING_EPS)
    matrix = pca if method == "pca" else pca @ eigvecs.T
    return Whitener(method, _frozen(mean), _frozen(matrix))


# ---------------------------------------------------------------------------
# The data set handed to models and pages
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train / held-out / test splits in display (raw) coordinates, plus the input whitener.

    x_heldout comes from the training distribution and is never shifted; x_test is what
    the student shifts (for MNIST it is the same arrays as heldout). Models see
    `model_input(x)`, never x directly.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_heldout: np.ndarray
    y_heldout: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    input_dim: int
    image_shape: tuple[int, int] | None
    whitener: Whitener

    def model_input(self, x: np.ndarray) -> np.ndarray:
        """What the model sees for display-space points `x`: whitened, float32."""
        return np.asarray(self.whitener.apply(x), dtype=np.float32)

    def viewport(self, margin: float = 0.1) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) covering train, held-out and test points, padded by
        `margin` times each axis' span on every side (2-D data only)."""
        if self.input_dim != 2:
            raise ValueError(f"viewport is defined for 2-D data; {self.name} has {self.input_dim} inputs")
        points = np.concatenate([self.x_train, self.x_heldout, self.x_test]).astype(np.float64)
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = hi - lo
        pad = np.where(span > 0, margin * span, 1.0)
        return (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))

    def grid_points(self, resolution: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A regular grid over the viewport: xs (res,), ys (res,), points (res*res, 2).

        Row-major in y: points[i * res + j] == (xs[j], ys[i]), so predictions reshaped to
        (res, res) form an image whose rows are y values.
        """
        xmin, xmax, ymin, ymax = self.viewport()
        xs = np.linspace(xmin, xmax, resolution, dtype=np.float32)
        ys = np.linspace(ymin, ymax, resolution, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def build_toy_dataset(
    name: str,
    n_samples: int = 400,
    noise: float = 0.1,
    seed: int = 0,
    far_offset: float = 0.0,
    whitening: str = "none",
    translate: tuple[float, float] = (0.0, 0.0),
    rotate_deg: float = 0.0,
    scale: float = 1.0,
) -> Dataset:
    """A toy Dataset: train (n_samples), held-out and test (max(200, n_samples // 2) each).

    far_offset moves every split by (far_offset, far_offset) (T2); the shift
    (translate, rotate_deg, scale) moves only the test split, about the training
    centroid (T1); the whitener is fitted on the (offset) training data.
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {sorted(TOY_DATASETS)}")
    if whitening not in WHITENING_METHODS:
        raise ValueError(f"unknown whitening method {whitening!r}; choose one of {WHITENING_METHODS}")
    generate = TOY_DATASETS[name]
    n_eval = max(200, n_samples // 2)
    offset = np.array([far_offset, far_offset], dtype=np.float64)
    splits = []
    for k, n in enumerate((n_samples, n_eval, n_eval)):
        x, y = generate(n, noise, np.random.default_rng([seed, k]))
        splits.append((x + offset, y))
    (x_train, y_train), (x_heldout, y_heldout), (x_test, y_test) = splits
    x_test = shift_points(x_test, translate, rotate_deg, scale, centre=x_train.mean(axis=0))
    return Dataset(
        name=name,
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_heldout=x_heldout.astype(np.float32),
        y_heldout=y_heldout,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
        n_classes=n_classes_of(name),
        input_dim=2,
        image_shape=None,
        whitener=fit_whitening(x_train, whitening),
    )


# ---------------------------------------------------------------------------
# Batch order (T8)
# ---------------------------------------------------------------------------


def batch_order(y: np.ndarray, shuffle: float, seed: int, epoch: int) -> np.ndarray:
    """The order in which examples are fed in one epoch, as a permutation of indices.

    shuffle=0 sorts by class (all of class 0, then class 1, ...; random order within a
    class), shuffle=1 is a uniform shuffle, and values in between blend the two: examples
    are sorted by (1 - shuffle) * (class + V) + shuffle * n_classes * U with V, U ~ U(0, 1)
    drawn afresh each epoch, so neighbouring classes start to overlap as soon as
    shuffle > 0. Deterministic per (seed, epoch).
    """
    if not 0.0 <= shuffle <= 1.0:
        raise ValueError(f"shuffle must be in [0, 1], got {shuffle!r}")
    y = np.asarray(y)
    n = len(y)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    n_classes = int(y.max()) + 1
    rng = np.random.default_rng([seed, epoch])
    within, across = rng.uniform(size=n), rng.uniform(size=n)
    key = (1.0 - shuffle) * (y + within) + shuffle * n_classes * across
    return np.argsort(key, kind="stable").astype(np.int64)


def batch_label_mix(
    y: np.ndarray, order: np.ndarray, batch_size: int, n_batches: int, n_classes: int
) -> np.ndarray:
    """Label counts (n_batches, n_classes) of the first n_batches batches of `order`.

    Fewer rows come back if the epoch has fewer batches; a last, partial batch counts.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    y = np.asarray(y)
    order = np.asarray(order)
    n_batches = min(int(n_batches), -(-len(order) // batch_size))
    mix = np.zeros((n_batches, n_classes), dtype=np.int64)
    for b in range(n_batches):
        labels = y[order[b * batch_size : (b + 1) * batch_size]]
        mix[b] = np.bincount(labels, minlength=n_classes)[:n_classes]
    return mix


def class_mix_entropy(mix: np.ndarray) -> float:
    """Mean label entropy per batch, in bits: 0 when each batch holds one class,
    log2(n_classes) when every batch is evenly mixed. Empty batches are ignored."""
    mix = np.asarray(mix, dtype=np.float64)
    totals = mix.sum(axis=1)
    mix = mix[totals > 0]
    if len(mix) == 0:
        return 0.0
    p = mix / mix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return float(terms.sum(axis=1).mean())
