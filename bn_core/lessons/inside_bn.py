"""Inside the BN layer: the computations the "Inside the BN layer" lesson shows (T10-T12).

Built on the from-scratch NumPy BN in `batchnorm`: Algorithm 1 on a small batch a student
edits, its backward pass node by node checked against centred differences, running
statistics over many batches drawn from a population the student sets (Algorithm 2 and the
m/(m-1) correction), how noisy batch statistics get as the batch shrinks to 1, and the
per-channel statistics of an (N, C, H, W) tensor checked against the reshape to (N*H*W, C).
Pure functions of arrays; no UI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn_core.i18n import N_, _
from bn_core.nets.batchnorm import (
    DEFAULT_EPS,
    BatchNorm1d,
    batchnorm_backward,
    batchnorm_backward_graph,
    batchnorm_forward,
    channel_statistics,
    difference_noise,
    difference_step,
    numerical_gradient,
    population_statistics,
    relative_error,
    spatial_batchnorm_forward,
    staged_forward,
)

GRADCHECK_TOLERANCE = 1e-6    # backprop and centred differences "agree" below this error
FLOAT64_AGREEMENT = 1e-8      # where correct float64 gradient checks usually land (1e-13 to 1e-8)
BATCH_SIZES = (1, 2, 3, 4, 8, 16, 32, 64, 128)  # the batch-size ladder of the noise study
SPREAD_PERCENTILES = (5, 50, 95)
EXAMPLE_GAMMA = (1.0, 2.0, 0.5, 1.5, 3.0, 0.25, 1.0, 2.0)
EXAMPLE_BETA = (0.0, 1.0, -2.0, 0.5, 3.0, -1.0, 0.0, 1.0)


# --------------------------------------------------------------------------- the edited batch


@dataclass(frozen=True)
class ExampleBatch:
    """A small batch to edit: x (N, D), gamma and beta (D,), upstream gradient dy (N, D)."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    dy: np.ndarray


def example_batch(n: int, d: int, seed: int) -> ExampleBatch:
    """x = 5*randn + 12 (the classic gradient-check case), rounded to 0.1 so it is easy to read
    and edit; gamma and beta differ per feature so their effect shows; dy ~ N(0, 1)."""
    if n < 1 or d < 1:
        raise ValueError(f"the batch needs at least one row and one feature; got N={n}, D={d}")
    rng = np.random.default_rng([seed, 7])
    x = np.round(5.0 * rng.standard_normal((n, d)) + 12.0, 1)
    dy = np.round(rng.standard_normal((n, d)), 2)
    gamma = np.resize(np.array(EXAMPLE_GAMMA), d)
    beta = np.resize(np.array(EXAMPLE_BETA), d)
    return ExampleBatch(x=x, gamma=gamma, beta=beta, dy=dy)


def checked_table(name: str, values, shape: tuple, column_names=None, row_names=None) -> np.ndarray:
    """An edited table as a float64 array; ValueError says which cells are empty or not finite.

    Empty cells (None) and text that is not a number arrive as nan; the message names them
    by row and column so a student can find them.
    """
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(_("{name}: every cell must be a number").format(name=name)) from None
    if arr.size == 0:
        raise ValueError(_("{name} is empty: it needs at least one row and one column").format(
            name=name))
    if arr.shape != tuple(shape):
        raise ValueError(_("{name} must have shape {shape}; got {got}").format(
            name=name, shape=tuple(shape), got=arr.shape))
    grid = arr if arr.ndim == 2 else arr.reshape(1, -1)
    bad = np.argwhere(~np.isfinite(grid))
    if len(bad):
        cells = []
        for r, c in bad[:5]:
            col = (column_names[c] if column_names is not None else
                   _("column {n}").format(n=c + 1))
            row = row_names[r] if row_names is not None else _("row {n}").format(n=r + 1)
            cells.append(col if arr.ndim == 1 else f"{row}, {col}")
        if len(bad) > 5:
            raise ValueError(_("{name}: empty or not a finite number at {cells} and {more} "
                               "more").format(name=name, cells="; ".join(cells),
                                              more=len(bad) - 5))
        raise ValueError(_("{name}: empty or not a finite number at {cells}").format(
            name=name, cells="; ".join(cells)))
    if np.max(np.abs(arr)) > 1e100:
        raise ValueError(_("{name}: values above 1e100 overflow the variance; use smaller "
                           "numbers").format(name=name))
    return arr


# --------------------------------------------------------------------------- backward, node by node


def node_scale(name: str, cache, eps: float):
    """The length on which the loss bends as a node moves (broadcast against its value): the
    inputs and centred values on the scale of sqrt(var + eps), the variance on var + eps,
    the normalised values on 1; the loss is linear in gamma * xhat, y, gamma and beta."""
    if name in ("x", "mu", "xmu", "std"):
        return cache.std
    if name in ("sq", "var"):
        return cache.var + eps
    if name == "invstd":
        return cache.invstd
    if name in ("gxhat", "y"):
        return np.maximum(np.abs(cache.gamma), 1.0)
    return np.ones_like(cache.std)


def difference_steps(name: str, value, cache, eps: float) -> np.ndarray:
    """The centred-difference step for each element of a node: scaled to the element's value
    and to the length on which the loss bends (`batchnorm.difference_step`)."""
    return difference_step(value, node_scale(name, cache, eps))


def loss_magnitude(cache, dy) -> float:
    """The size of the terms the loss L = sum(dL/dy * y) is computed from, for the rounding
    estimate: |dy| times |y|, and times gamma * |x| / sqrt(var + eps), the size x - mu is
    rounded at relative to the spread it is divided by."""
    dy = np.abs(np.asarray(dy, dtype=np.float64))
    reach = np.abs(cache.gamma) * (1.0 + np.max(np.abs(cache.x), axis=0) / cache.std)
    return float(np.sum(dy * (np.abs(cache.y) + reach)))


@dataclass(frozen=True)
class NodeCheck:
    """One graph node: its value, dL/d(node) from backprop and from centred differences, and
    the error between them (a gradient below `floor` counts as zero)."""

    name: str
    formula: str
    grad_formula: str
    value: np.ndarray
    grad: np.ndarray
    numeric: np.ndarray
    rel_error: float
    step: np.ndarray               # the centred-difference step of each element
    noise: float                   # the largest gradient rounding can hide at those steps
    finer_error: float | None = None  # the error again with steps 10x smaller (failures only)

    @property
    def agrees(self) -> bool:
        return self.rel_error <= GRADCHECK_TOLERANCE


@dataclass(frozen=True)
class BackwardCheck:
    """The whole backward pass of one batch, checked three ways."""

    nodes: list                 # NodeCheck per graph node, forward order
    params: list                # NodeCheck for x, gamma, beta (graph result vs numeric)
    compact_vs_graph: float     # relative error between the compact dx and the graph's dx
    dx_sum: np.ndarray          # sum_i dL/dx_i per feature (0 up to rounding)
    dx_dot_xhat: np.ndarray     # sum_i dL/dx_i * xhat_i per feature (0 when eps = 0)
    dx: np.ndarray
    dgamma: np.ndarray
    dbeta: np.ndarray


def _node_check(name, formula, grad_formula, value, grad, f, dy, cache, eps, magnitude):
    steps = difference_steps(name, value, cache, eps)
    numeric = numerical_gradient(f, value, dy, steps)
    noise = difference_noise(magnitude, steps)
    floor = noise / GRADCHECK_TOLERANCE  # agreeing within rounding counts as agreeing
    err = relative_error(grad, numeric, floor)
    finer = None
    if err > GRADCHECK_TOLERANCE:  # tell a too-coarse step from a genuine disagreement
        fine = numerical_gradient(f, value, dy, steps / 10)
        finer = relative_error(grad, fine, difference_noise(magnitude, steps / 10)
                               / GRADCHECK_TOLERANCE)
    return NodeCheck(name, formula, grad_formula, value, grad, numeric, err, steps,
                     float(np.max(noise)), finer)


def backward_check(x, gamma, beta, dy, eps: float = DEFAULT_EPS) -> BackwardCheck:
    """Backprop through the 9-node graph, each node's gradient beside its numerical gradient,
    and dx, dgamma, dbeta from the graph, the compact formula and centred differences.

    Each element's step is scaled to its value and to how fast the loss bends there, and a
    difference smaller than rounding can resolve at that step counts as agreement."""
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta, nodes = batchnorm_backward_graph(dy, cache)
    dx_c, _, _ = batchnorm_backward(dy, cache)
    x, gamma, beta = cache.x, cache.gamma, cache.beta
    magnitude = loss_magnitude(cache, dy)
    checks = [_node_check(node.name, node.formula, node.grad_formula, node.value, node.grad,
                          lambda v, name=node.name: staged_forward(x, gamma, beta, eps, {name: v}),
                          dy, cache, eps, magnitude) for node in nodes]
    params = []
    for name, analytic, f, at, formula in (
        ("x", dx, lambda v: batchnorm_forward(v, gamma, beta, eps)[0], x,
         "dL/dx_i = dL/dxmu_i + dL/dmu / m"),
        ("gamma", dgamma, lambda v: batchnorm_forward(x, v, beta, eps)[0], gamma,
         "dL/dgamma = sum_i dL/dy_i * xhat_i"),
        ("beta", dbeta, lambda v: batchnorm_forward(x, gamma, v, eps)[0], beta,
         "dL/dbeta = sum_i dL/dy_i"),
    ):
        kind = N_("input") if name == "x" else N_("parameter")  # the page translates them
        params.append(_node_check(name, kind, formula, at, analytic, f, dy, cache, eps,
                                  magnitude))
    return BackwardCheck(nodes=checks, params=params,
                         compact_vs_graph=relative_error(dx_c, dx),
                         dx_sum=dx.sum(axis=0), dx_dot_xhat=(dx * cache.xhat).sum(axis=0),
                         dx=dx, dgamma=dgamma, dbeta=dbeta)


def worst_error(check: BackwardCheck) -> float:
    """The largest error over every node and parameter of a check."""
    return max(r.rel_error for r in check.nodes + check.params)


def gradient_check_verdict(check: BackwardCheck) -> str:
    """The measured outcome of a check in words, and for a failure its cause, told apart by
    rerunning the failing node's centred differences with steps 10 times smaller."""
    rows = check.nodes + check.params
    worst = max(rows, key=lambda r: r.rel_error)
    finer = worst.finer_error
    slots = dict(error=worst.rel_error, node=worst.name, tolerance=GRADCHECK_TOLERANCE,
                 finer=finer if finer is not None else worst.rel_error)
    if worst.agrees:
        text = _("the largest error is **{error:.1e}** (at {node}), below {tolerance:g}: "
                 "backprop and the numerical gradients agree. (Each element's step is scaled to "
                 "its value and to how sharply L bends there, and a difference smaller than "
                 "float64 rounding can resolve at that step counts as agreement.)")
    elif finer is not None and finer < 0.1 * worst.rel_error:
        text = _("the largest error is **{error:.1e}** (at {node}), above {tolerance:g}. With "
                 "steps 10 times smaller it falls to {finer:.1e}: the step was too coarse for how "
                 "sharply L bends at this node (truncation error of centred differences), not a "
                 "wrong backward rule.")
    elif finer is not None and finer > 10 * worst.rel_error:
        text = _("the largest error is **{error:.1e}** (at {node}), above {tolerance:g}. With "
                 "steps 10 times smaller it grows to {finer:.1e}: rounding error dominates (the "
                 "loss changes too little over a step to be resolved in float64), not a wrong "
                 "backward rule.")
    else:
        text = _("the largest error is **{error:.1e}** (at {node}), above {tolerance:g}. With "
                 "steps 10 times smaller it stays at {finer:.1e}: the difference does not come "
                 "from the step, so the backward rule and the numbers genuinely disagree at this "
                 "node.")
    return text.format(**slots)


def _short(values, digits: int = 4) -> str:
    flat = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    return ", ".join(f"{v:.{digits}g}" for v in flat)


def node_table(check: BackwardCheck, feature: int) -> list[dict]:
    """One row per graph node (then x, gamma, beta): formulas, and for one feature (column)
    the node's values, dL/d(node) from backprop and from centred differences, and the
    relative error over all features."""
    rows = []
    for kind, items in (("graph node", check.nodes), ("returned", check.params)):
        for r in items:
            def col(a):
                a = np.asarray(a)
                return a[:, feature] if a.ndim == 2 else a[feature:feature + 1]
            rows.append({
                "node": r.name, "kind": kind, "forward": r.formula,
                "value": _short(col(r.value)), "backward rule": r.grad_formula,
                "dL/dnode (backprop)": _short(col(r.grad)),
                "dL/dnode (centred differences)": _short(col(r.numeric)),
                "relative error": r.rel_error, "agrees": r.agrees,
            })
    return rows


# --------------------------------------------------------------------------- running statistics


@dataclass(frozen=True)
class RunningStatistics:
    """Per batch t = 1..T of size m drawn from N(mean, std^2): the batch statistics, the layer's
    running averages (torch's convention), Algorithm 2's estimates so far, and how one fixed
    input x0 is normalised in training mode (inside each batch) and in eval mode."""

    m: int
    momentum: float
    true_mean: float
    true_var: float
    batch_mean: np.ndarray           # (T,)
    batch_var: np.ndarray            # (T,) biased, as BN normalises with
    running_mean: np.ndarray         # (T,) after batch t
    running_var: np.ndarray          # (T,) unbiased m/(m-1) batch variances averaged
    average_batch_var: np.ndarray    # (T,) mean of the biased batch variances so far
    population_mean: np.ndarray      # (T,) Algorithm 2: mean of batch means so far
    population_var: np.ndarray       # (T,) Algorithm 2: m/(m-1) * mean of batch variances
    probe_value: float               # x0 = mean + std: its true z-score is 1
    train_xhat: np.ndarray           # (T,) x0 normalised with batch t's statistics
    eval_xhat: float                 # x0 normalised with the final running statistics


def running_statistics(mean: float, std: float, m: int, momentum: float, n_batches: int,
                       seed: int = 0, eps: float = DEFAULT_EPS) -> RunningStatistics:
    """Feed T batches of size m >= 2 through a BatchNorm1d in training mode and record its
    statistics; x0 = mean + std is normalised as if it were the first value of each batch."""
    if m < 2:
        raise ValueError(f"batch of {m}: training-mode BN needs at least 2 values per feature")
    if n_batches < 1:
        raise ValueError(f"n_batches must be >= 1; got {n_batches}")
    if not (std > 0):
        raise ValueError(f"the population std must be > 0; got {std}")
    rng = np.random.default_rng([seed, 11])
    x0 = float(mean + std)
    layer = BatchNorm1d(1, eps=eps, momentum=momentum)
    rows = {k: np.empty(n_batches) for k in ("bm", "bv", "rm", "rv", "xhat")}
    for t in range(n_batches):
        batch = mean + std * rng.standard_normal((m, 1))
        layer.forward(batch)
        rows["bm"][t] = batch.mean()
        rows["bv"][t] = batch.var()
        rows["rm"][t] = layer.running_mean[0]
        rows["rv"][t] = layer.running_var[0]
        # x0 in place of this batch's first example, normalised with that batch's statistics
        # (a side computation: the layer's running statistics see only population draws)
        with_x0 = np.concatenate([[x0], batch[1:, 0]])
        rows["xhat"][t] = (x0 - with_x0.mean()) / np.sqrt(with_x0.var() + eps)
    layer.eval()
    eval_xhat = float(layer.forward(np.array([[x0]]))[0, 0])
    counts = np.arange(1, n_batches + 1)
    avg_var = np.cumsum(rows["bv"]) / counts
    pop_mean = np.cumsum(rows["bm"]) / counts
    # Algorithm 2 over every batch so far (checked against population_statistics at the end)
    pop_var = avg_var * m / (m - 1)
    end_mean, end_var = population_statistics(rows["bm"], rows["bv"], m)
    assert np.isclose(end_mean, pop_mean[-1]) and np.isclose(end_var, pop_var[-1])
    return RunningStatistics(m=m, momentum=momentum, true_mean=float(mean), true_var=float(std**2),
                             batch_mean=rows["bm"], batch_var=rows["bv"],
                             running_mean=rows["rm"], running_var=rows["rv"],
                             average_batch_var=avg_var, population_mean=pop_mean,
                             population_var=pop_var, probe_value=x0, train_xhat=rows["xhat"],
                             eval_xhat=eval_xhat)


# --------------------------------------------------------------------------- batch size


@dataclass(frozen=True)
class BatchNoise:
    """How batch statistics scatter with the batch size m: percentiles (5, 50, 95) over many
    batches of the batch mean, the biased batch variance, and x0's normalised value."""

    sizes: np.ndarray            # (S,)
    mean_pct: np.ndarray         # (S, 3)
    var_pct: np.ndarray          # (S, 3)
    xhat_pct: np.ndarray         # (S, 3)
    expected_var: np.ndarray     # (S,) E[biased batch variance] = (m-1)/m * var
    true_mean: float
    true_var: float


def batch_noise(mean: float, std: float, sizes=BATCH_SIZES, n_batches: int = 2000,
                seed: int = 0, eps: float = DEFAULT_EPS) -> BatchNoise:
    """Draw n_batches batches of each size from N(mean, std^2); x0 = mean + std is normalised
    as if it replaced each batch's first example."""
    rng = np.random.default_rng([seed, 13])
    sizes = np.array(sorted(set(int(s) for s in sizes)))
    if sizes[0] < 1:
        raise ValueError("batch sizes must be >= 1")
    x0 = mean + std
    out = {k: np.empty((len(sizes), len(SPREAD_PERCENTILES))) for k in ("mean", "var", "xhat")}
    for i, m in enumerate(sizes):
        batches = mean + std * rng.standard_normal((n_batches, m))
        mu = batches.mean(axis=1)
        var = batches.var(axis=1)
        batches[:, 0] = x0  # the same batches with x0 in place of their first example
        x0_mu = batches.mean(axis=1)
        xhat = (x0 - x0_mu) / np.sqrt(batches.var(axis=1) + eps)
        for key, v in (("mean", mu), ("var", var), ("xhat", xhat)):
            out[key][i] = np.percentile(v, SPREAD_PERCENTILES)
    return BatchNoise(sizes=sizes, mean_pct=out["mean"], var_pct=out["var"], xhat_pct=out["xhat"],
                      expected_var=(sizes - 1) / sizes * std**2, true_mean=float(mean),
                      true_var=float(std**2))


def batch_of_one_refusals() -> dict[str, str]:
    """What happens to a batch of 1 in training mode, asked of torch and of our layer."""
    out = {}
    try:
        import torch

        torch.nn.BatchNorm1d(3).train()(torch.ones(1, 3))
        out["torch"] = "torch accepted the batch (unexpected)"
    except (ValueError, RuntimeError) as exc:
        out["torch"] = str(exc)
    try:
        BatchNorm1d(3).forward(np.ones((1, 3)))
        out["bn_core"] = "accepted (unexpected)"
    except ValueError as exc:
        out["bn_core"] = str(exc)
    return out


# --------------------------------------------------------------------------- convolutional BN


def example_tensor(n: int, c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """An (N, C, H, W) batch whose channels have clearly different means and spreads
    (channel k: mean 2k, std 1 + k/2), so one channel's statistics are easy to tell apart."""
    rng = np.random.default_rng([seed, 17])
    k = np.arange(c).reshape(1, c, 1, 1)
    return np.round(2.0 * k + (1.0 + 0.5 * k) * rng.standard_normal((n, c, h, w)), 2)


@dataclass(frozen=True)
class ChannelCheck:
    """Per-channel statistics two ways, the naive reshape's error, and BN's output per channel."""

    mean: np.ndarray             # (C,) over axes N, H, W
    var: np.ndarray              # (C,)
    reshape_mean: np.ndarray     # (C,) via x.transpose(0, 2, 3, 1).reshape(N*H*W, C)
    reshape_var: np.ndarray
    max_abs_diff: float          # between the two routes (0 up to rounding)
    naive_mean: np.ndarray       # (C,) via x.reshape(-1, C) without moving C last: wrong
    naive_max_abs_diff: float
    y_mean: np.ndarray           # (C,) of spatial BN's output (gamma 1, beta 0): ~0
    y_std: np.ndarray            # (C,) ~1
    values_per_channel: int      # N*H*W: the effective batch of each channel


def channel_check(x, eps: float = DEFAULT_EPS) -> ChannelCheck:
    """Convolutional BN's statistics: axes (0, 2, 3) against the (N*H*W, C) reshape route."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    mean, var = channel_statistics(x)
    flat = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    _, cache = batchnorm_forward(flat, np.ones(c), np.zeros(c), eps)
    naive = x.reshape(-1, c).mean(axis=0)
    y, _ = spatial_batchnorm_forward(x, np.ones(c), np.zeros(c), eps)
    diff = max(float(np.max(np.abs(mean - cache.mu))), float(np.max(np.abs(var - cache.var))))
    return ChannelCheck(mean=mean, var=var, reshape_mean=cache.mu, reshape_var=cache.var,
                        max_abs_diff=diff, naive_mean=naive,
                        naive_max_abs_diff=float(np.max(np.abs(naive - mean))),
                        y_mean=y.mean(axis=(0, 2, 3)), y_std=y.std(axis=(0, 2, 3)),
                        values_per_channel=n * h * w)
