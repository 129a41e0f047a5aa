"""Batch normalization from scratch in NumPy (float64), after Ioffe & Szegedy 2015.

Algorithm 1 (training-mode forward), its backward pass in the compact form and node by node
through the staged computational graph, the convolutional (per-channel) variant, a layer with
running statistics that mirrors ``torch.nn.BatchNorm1d``, Algorithm 2 (inference), LayerNorm
and GroupNorm (statistics per example, not per batch), and the tools to check all of it
numerically. No UI and no torch here: pages and tests build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bn_core.i18n import N_  # marks the one rule in words, translated where shown

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1  # PyTorch's convention: running = (1 - momentum) * running + momentum * batch

# Order of the staged computational graph, forward direction.
GRAPH_NODE_NAMES = ("mu", "xmu", "sq", "var", "std", "invstd", "xhat", "gxhat", "y")


# --------------------------------------------------------------------------- validation


def _as_array(name: str, value, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """`value` as a float64 array, checked for ndim, shape and finiteness."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real numeric array; got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return arr


def _check_eps(eps) -> float:
    eps = float(eps)
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0; got {eps}")
    return eps


def _check_affine(gamma, beta, num_features: int) -> tuple[np.ndarray, np.ndarray]:
    shape = (num_features,)
    return _as_array("gamma", gamma, shape=shape), _as_array("beta", beta, shape=shape)


# --------------------------------------------------------------------------- Algorithm 1


@dataclass(frozen=True, eq=False)
class BatchNormCache:
    """Everything the backward pass needs: inputs, parameters and every graph node's value."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    mu: np.ndarray
    xmu: np.ndarray
    sq: np.ndarray
    var: np.ndarray
    std: np.ndarray
    invstd: np.ndarray
    xhat: np.ndarray
    gxhat: np.ndarray
    y: np.ndarray

    @property
    def m(self) -> int:
        """Mini-batch size: the number of values each feature is normalised over."""
        return self.x.shape[0]


def batchnorm_forward(x, gamma, beta, eps: float = DEFAULT_EPS) -> tuple[np.ndarray, BatchNormCache]:
    """Training-mode BN of x (N, D) with batch statistics (biased variance), Algorithm 1.

    Computed stage by stage, exactly as the 9-node graph that the backward pass walks.
    """
    x = _as_array("x", x, ndim=2)
    gamma, beta = _check_affine(gamma, beta, x.shape[1])
    eps = _check_eps(eps)
    m = x.shape[0]
    if m == 0:
        raise ValueError("x must hold at least one example; got an empty batch")

    mu = x.sum(axis=0) / m
    xmu = x - mu
    sq = xmu**2
    var = sq.sum(axis=0) / m
    std = np.sqrt(var + eps)
    invstd = 1.0 / std
    xhat = xmu * invstd
    gxhat = gamma * xhat
    y = gxhat + beta
    cache = BatchNormCache(x, gamma, beta, eps, mu, xmu, sq, var, std, invstd, xhat, gxhat, y)
    return y, cache


def _check_dy(dy, cache: BatchNormCache) -> np.ndarray:
    return _as_array("dy", dy, shape=cache.x.shape)


def batchnorm_backward(dy, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx, dgamma, dbeta) in the compact form.

    dx = (m*g - sum g - xhat * sum(g*xhat)) / (m * sqrt(var + eps)),  g = gamma * dy.
    """
    dy = _check_dy(dy, cache)
    m = cache.m
    g = cache.gamma * dy
    dx = (m * g - g.sum(axis=0) - cache.xhat * (g * cache.xhat).sum(axis=0)) * (cache.invstd / m)
    dgamma = (dy * cache.xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    return dx, dgamma, dbeta


@dataclass(frozen=True, eq=False)
class GraphNode:
    """One node of the staged BN graph: its forward value and dL/d(node), with the formulas."""

    name: str
    formula: str
    value: np.ndarray
    grad: np.ndarray
    grad_formula: str


def _frozen(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def batchnorm_backward_graph(dy, cache: BatchNormCache):
    """Backward pass node by node through the 9-node graph (the form to show students).

    Returns (dx, dgamma, dbeta, nodes); `nodes` lists the GraphNodes in forward order, each
    with its value and the gradient of the loss with respect to it. Sums run over the batch i.
    """
    dy = _check_dy(dy, cache)
    c = cache
    m = c.m

    # Reverse order: y -> gxhat -> xhat -> invstd -> std -> var -> sq -> xmu -> mu -> x.
    d_y = dy
    dbeta = d_y.sum(axis=0)
    d_gxhat = d_y
    dgamma = (d_gxhat * c.xhat).sum(axis=0)
    d_xhat = c.gamma * d_gxhat
    d_invstd = (d_xhat * c.xmu).sum(axis=0)
    d_xmu_direct = d_xhat * c.invstd  # xmu reaches the loss through xhat and through sq
    d_std = -d_invstd / c.std**2
    d_var = d_std * 0.5 / c.std
    d_sq = np.ones_like(c.sq) * d_var / m
    d_xmu = d_xmu_direct + 2.0 * c.xmu * d_sq
    d_mu = -d_xmu.sum(axis=0)
    dx = d_xmu + d_mu / m  # x reaches the loss through xmu and through mu

    rows = (
        ("mu", "mu = (1/m) sum_i x_i", c.mu, d_mu, "dL/dmu = -sum_i dL/dxmu_i"),
        ("xmu", "xmu_i = x_i - mu", c.xmu, d_xmu,
         "dL/dxmu_i = dL/dxhat_i * invstd + 2 xmu_i * dL/dsq_i"),
        ("sq", "sq_i = xmu_i^2", c.sq, d_sq, "dL/dsq_i = (1/m) dL/dvar"),
        ("var", "var = (1/m) sum_i sq_i", c.var, d_var, "dL/dvar = dL/dstd * 1/(2 std)"),
        ("std", "std = sqrt(var + eps)", c.std, d_std, "dL/dstd = -dL/dinvstd / std^2"),
        ("invstd", "invstd = 1 / std", c.invstd, d_invstd,
         "dL/dinvstd = sum_i dL/dxhat_i * xmu_i"),
        ("xhat", "xhat_i = xmu_i * invstd", c.xhat, d_xhat, "dL/dxhat_i = gamma * dL/dgxhat_i"),
        ("gxhat", "gxhat_i = gamma * xhat_i", c.gxhat, d_gxhat, "dL/dgxhat_i = dL/dy_i"),
        ("y", "y_i = gxhat_i + beta", c.y, d_y, N_("dL/dy_i = upstream gradient dy_i")),
    )
    nodes = [GraphNode(name, formula, _frozen(value), _frozen(grad), grad_formula)
             for name, formula, value, grad, grad_formula in rows]
    return dx, dgamma, dbeta, nodes


# --------------------------------------------------------------------------- convolutional BN


@dataclass(frozen=True, eq=False)
class SpatialBatchNormCache:
    """Cache of the per-channel BN: the flat (N*H*W, C) cache and the original shape."""

    flat: BatchNormCache
    shape: tuple


def _channels_last_flat(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def _channels_first(flat: np.ndarray, shape: tuple) -> np.ndarray:
    n, c, h, w = shape
    return flat.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, eps: float = DEFAULT_EPS):
    """Training-mode BN of x (N, C, H, W): statistics per channel over all N*H*W positions.

    Implemented as the reshape to (N*H*W, C) followed by batchnorm_forward.
    """
    x = _as_array("x", x, ndim=4)
    y_flat, flat_cache = batchnorm_forward(_channels_last_flat(x), gamma, beta, eps)
    return _channels_first(y_flat, x.shape), SpatialBatchNormCache(flat_cache, x.shape)


def spatial_batchnorm_backward(dy, cache: SpatialBatchNormCache):
    """Gradients (dx, dgamma, dbeta) of the per-channel BN; dgamma, dbeta have shape (C,)."""
    dy = _as_array("dy", dy, shape=cache.shape)
    dx_flat, dgamma, dbeta = batchnorm_backward(_channels_last_flat(dy), cache.flat)
    return _channels_first(dx_flat, cache.shape), dgamma, dbeta


def channel_statistics(x) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel batch mean and biased variance of x (N, C, H, W), over axes (0, 2, 3)."""
    x = _as_array("x", x, ndim=4)
    return x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))


# --------------------------------------------------------------------------- inference


def population_statistics(batch_means, batch_vars, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2: E[x] = mean of batch means, Var[x] = m/(m-1) * mean of batch variances.

    batch_means, batch_vars: one row per mini-batch, (B,) or (B, D); batch_vars biased.
    The m/(m-1) factor makes the variance estimate unbiased.
    """
    means = _as_array("batch_means", batch_means)
    variances = _as_array("batch_vars", batch_vars, shape=means.shape)
    if means.ndim == 0 or means.shape[0] == 0:
        raise ValueError(f"batch_means must hold at least one batch; got shape {means.shape}")
    if np.any(variances < 0):
        raise ValueError("batch_vars must be >= 0")
    if isinstance(m, bool) or int(m) != m or m < 2:
        raise ValueError(f"m must be an integer batch size >= 2; got {m}")
    m = int(m)
    return means.mean(axis=0), m / (m - 1) * variances.mean(axis=0)


def inference_affine(gamma, beta, mean, var, eps: float = DEFAULT_EPS):
    """Algorithm 2's folded inference transform: y = scale * x + shift.

    scale = gamma / sqrt(var + eps), shift = beta - scale * mean.
    """
    mean = _as_array("mean", mean, ndim=1)
    var = _as_array("var", var, shape=mean.shape)
    if np.any(var < 0):
        raise ValueError("var must be >= 0")
    gamma, beta = _check_affine(gamma, beta, mean.shape[0])
    eps = _check_eps(eps)
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - scale * mean


# --------------------------------------------------------------------------- layer


@dataclass(frozen=True, eq=False)
class _EvalCache:
    """What the eval-mode backward needs: the folded scale and the normalised input."""

    scale: np.ndarray
    xhat: np.ndarray


class BatchNorm1d:
    """NumPy BN layer over x (N, D) with running statistics, mirroring torch.nn.BatchNorm1d.

    Training mode normalises with the batch's biased variance and updates
    running = (1 - momentum) * running + momentum * batch, storing the unbiased m/(m-1)
    variance in running_var; momentum=None gives the cumulative average (as in torch).
    Eval mode normalises with the running statistics.
    """

    def __init__(self, num_features: int, eps: float = DEFAULT_EPS,
                 momentum: float | None = DEFAULT_MOMENTUM, affine: bool = True):
        if isinstance(num_features, bool) or int(num_features) != num_features or num_features < 1:
            raise ValueError(f"num_features must be a positive integer; got {num_features}")
        if momentum is not None and not (0.0 <= float(momentum) <= 1.0):
            raise ValueError(f"momentum must be in [0, 1] or None; got {momentum}")
        self.num_features = int(num_features)
        self.eps = _check_eps(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        # Without affine there are no learnable parameters (torch sets weight/bias to None).
        self.gamma = np.ones(self.num_features) if self.affine else None
        self.beta = np.zeros(self.num_features) if self.affine else None
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self.num_batches_tracked = 0
        self.training = True
        self._cache: BatchNormCache | _EvalCache | None = None

    def __repr__(self) -> str:
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine})")

    def train(self, mode: bool = True) -> "BatchNorm1d":
        self.training = bool(mode)
        return self

    def eval(self) -> "BatchNorm1d":
        return self.train(False)

    def _affine_params(self) -> tuple[np.ndarray, np.ndarray]:
        if self.affine:
            return self.gamma, self.beta
        return np.ones(self.num_features), np.zeros(self.num_features)

    def forward(self, x) -> np.ndarray:
        x = _as_array("x", x, ndim=2)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} features (columns); got shape {x.shape}")
        gamma, beta = self._affine_params()
        if not self.training:
            scale, shift = inference_affine(gamma, beta, self.running_mean, self.running_var, self.eps)
            invstd = 1.0 / np.sqrt(self.running_var + self.eps)
            self._cache = _EvalCache(scale=scale, xhat=(x - self.running_mean) * invstd)
            return scale * x + shift

        m = x.shape[0]
        if m < 2:
            raise ValueError(
                f"batch of {m}: variance is 0, training-mode BN undefined "
                "(torch also refuses: 'Expected more than 1 value per channel when training'); "
                "use a batch of 2 or more, or eval()")
        y, cache = batchnorm_forward(x, gamma, beta, self.eps)
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        unbiased_var = cache.var * m / (m - 1)
        self.running_mean = (1.0 - factor) * self.running_mean + factor * cache.mu
        self.running_var = (1.0 - factor) * self.running_var + factor * unbiased_var
        self._cache = cache
        return y

    __call__ = forward

    def backward(self, dy) -> np.ndarray:
        """dx for the last forward; stores dgamma, dbeta (None when not affine).

        Training mode: the batch-statistics gradient; eval mode: the fixed affine map's.
        """
        if self._cache is None:
            raise RuntimeError("backward called before forward")
        if isinstance(self._cache, BatchNormCache):
            dx, dgamma, dbeta = batchnorm_backward(dy, self._cache)
        else:
            dy = _as_array("dy", dy, shape=self._cache.xhat.shape)
            dx = self._cache.scale * dy  # running statistics are constants, not functions of x
            dgamma, dbeta = (dy * self._cache.xhat).sum(axis=0), dy.sum(axis=0)
        if self.affine:
            self.dgamma, self.dbeta = dgamma, dbeta
        return dx


# --------------------------------------------------------------------------- LayerNorm, GroupNorm


@dataclass(frozen=True, eq=False)
class GroupNormCache:
    """What the GroupNorm (and LayerNorm) backward needs: the input, gamma, the per-example,
    per-group statistics and the normalised input."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    groups: int
    mu: np.ndarray       # (N, G): each example's mean over the values of each group
    var: np.ndarray      # (N, G): biased
    invstd: np.ndarray   # (N, G)
    xhat: np.ndarray     # shape of x

    @property
    def values_per_group(self) -> int:
        """How many values each statistic is taken over: (C / G) * H * W."""
        return self.x[0].size // self.groups


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, ...) -> (N, G, C/G * ...): each row of the last axis is one example's group."""
    return a.reshape(a.shape[0], groups, -1)


def groupnorm_forward(x, gamma, beta, groups: int, eps: float = DEFAULT_EPS):
    """GroupNorm (Wu and He 2018) of x (N, C) or (N, C, H, W): each example's channels split
    into `groups` groups of C/G, each group normalised over its own C/G * H * W values (biased
    variance), then y = gamma * xhat + beta per channel. No batch statistics: every example is
    normalised on its own, so the batch size does not matter, 1 included."""
    x = _as_array("x", x)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must be 2-D (N, C) or 4-D (N, C, H, W); got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one example; got an empty batch")
    c = x.shape[1]
    if isinstance(groups, bool) or int(groups) != groups or groups < 1 or c % int(groups):
        raise ValueError(f"groups must be a positive divisor of the {c} channels; got {groups}")
    groups = int(groups)
    gamma, beta = _check_affine(gamma, beta, c)
    eps = _check_eps(eps)
    g = _grouped(x, groups)
    mu = g.mean(axis=2)
    var = ((g - mu[..., None]) ** 2).mean(axis=2)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = ((g - mu[..., None]) * invstd[..., None]).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    y = gamma.reshape(shape) * xhat + beta.reshape(shape)
    return y, GroupNormCache(x, gamma, beta, eps, groups, mu, var, invstd, xhat)


def groupnorm_backward(dy, cache: GroupNormCache):
    """Gradients (dx, dgamma, dbeta) of GroupNorm, BN's compact form applied within each
    example's group: dx = (M g - sum g - xhat sum(g xhat)) / (M sqrt(var + eps)), g = gamma dy,
    sums over the M values of the group (not over the batch)."""
    dy = _as_array("dy", dy, shape=cache.x.shape)
    c = cache.x.shape[1]
    shape = (1, c) + (1,) * (dy.ndim - 2)
    g = _grouped(cache.gamma.reshape(shape) * dy, cache.groups)
    xhat = _grouped(cache.xhat, cache.groups)
    m = xhat.shape[2]
    dx = (m * g - g.sum(axis=2, keepdims=True)
          - xhat * (g * xhat).sum(axis=2, keepdims=True)) * (cache.invstd[..., None] / m)
    axes = (0,) + tuple(range(2, dy.ndim))
    return dx.reshape(dy.shape), (dy * cache.xhat).sum(axis=axes), dy.sum(axis=axes)


def layernorm_forward(x, gamma, beta, eps: float = DEFAULT_EPS):
    """LayerNorm (Ba et al. 2016) of x (N, D): each example normalised over its own D features,
    then gamma and beta per feature. It is GroupNorm with one group."""
    x = _as_array("x", x, ndim=2)
    return groupnorm_forward(x, gamma, beta, 1, eps)


def layernorm_backward(dy, cache: GroupNormCache):
    """Gradients (dx, dgamma, dbeta) of LayerNorm: sums run over each example's features."""
    return groupnorm_backward(dy, cache)


# --------------------------------------------------------------------------- checking


def staged_forward(x, gamma, beta, eps: float, override: dict | None = None) -> np.ndarray:
    """The 9-node graph's forward pass with any node's value replaced by override[name].

    Replacing one node and recomputing everything downstream of it is what dL/d(node) means
    in the graph; centred differences of this function check each node's gradient."""
    override = override or {}
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[0]
    v: dict[str, np.ndarray] = {}

    def node(name, compute):
        v[name] = np.asarray(override[name], dtype=np.float64) if name in override else compute()

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        node("mu", lambda: x.sum(axis=0) / m)
        node("xmu", lambda: x - v["mu"])
        node("sq", lambda: v["xmu"] ** 2)
        node("var", lambda: v["sq"].sum(axis=0) / m)
        node("std", lambda: np.sqrt(v["var"] + eps))
        node("invstd", lambda: 1.0 / v["std"])
        node("xhat", lambda: v["xmu"] * v["invstd"])
        node("gxhat", lambda: gamma * v["xhat"])
        node("y", lambda: v["gxhat"] + beta)
    return v["y"]




def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x, df, h=1e-5) -> np.ndarray:
    """Centred-difference gradient of sum(f(x) * df) with respect to x, in float64.

    f maps an array to an array; it is called with perturbed copies, x is not modified.
    h is one step for every element, one step per feature (indexed by the last axis), or one
    step per element (an array of x's shape, e.g. from `difference_step`).
    """
    x = np.array(x, dtype=np.float64, copy=True)
    df = np.asarray(df, dtype=np.float64)
    steps = np.asarray(h, dtype=np.float64)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        if steps.ndim == 0:
            step = float(steps)
        elif steps.shape == x.shape:
            step = float(steps[ix])
        else:
            step = float(steps[ix[-1]]) if x.ndim else float(steps.min())
        old = x[ix]
        x[ix] = old + step
        pos = np.array(f(x.copy()), dtype=np.float64)
        x[ix] = old - step
        neg = np.array(f(x.copy()), dtype=np.float64)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2.0 * step)
    return grad


MACHINE_EPS = float(np.finfo(np.float64).eps)
ROUNDING_OPS = 64.0  # generous count of roundings between a node and the loss


def difference_step(value, scale) -> np.ndarray:
    """The centred-difference step for each element of `value`, for a function that bends on
    the length `scale` (broadcast against value).

    Truncation error grows like (h / scale)^2 and rounding error like eps * |value| / h, so
    the step that balances them is h = (eps * max(|value|, scale) * scale^2)^(1/3): about
    6e-6 * scale for a value of the order of its scale, larger for a value far from 0 (a 1000
    among numbers near 12), smaller for a nearly constant feature (a spread far below the
    values)."""
    value = np.abs(np.asarray(value, dtype=np.float64))
    scale = np.abs(np.broadcast_to(np.asarray(scale, dtype=np.float64), value.shape))
    scale = np.where(scale > 0, scale, 1.0)
    return np.cbrt(MACHINE_EPS * np.maximum(value, scale) * scale ** 2)


def difference_noise(loss_terms: float, h) -> np.ndarray:
    """How small a gradient centred differences can resolve with steps h: the loss, whose terms
    sum to `loss_terms` in magnitude, is rounded to about ROUNDING_OPS * eps of that, and the
    difference quotient divides its rounding by 2h."""
    return ROUNDING_OPS * MACHINE_EPS * float(loss_terms) / (2.0 * np.asarray(h, np.float64))


def relative_error(a, b, floor=1e-8) -> float:
    """max over elements of |a - b| / max(floor, |a| + |b|) (the cs231n gradient-check form).

    `floor` (a number, or one per element) is where a gradient counts as zero: below it the
    difference is measured against the floor, so a near-zero true gradient that centred
    differences cannot resolve is not a disagreement."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))
