"""What the lessons measure, as small pure functions of tensors and arrays.

The zones the pages shade and the histograms' bins are in bn_core/nets/zones.py (no torch
there: the web server reads them).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F

from bn_core.nets.zones import (  # noqa: F401 (the probes' names, kept here too)
    HISTOGRAM_BINS, HISTOGRAM_RANGE, LANDSCAPE_STEP_SIZES, LINEAR_ZONE, PERCENTILES,
    SATURATION_THRESHOLD, histogram_edges)


POOLED_SAMPLE = 20_000  # pooled percentiles use at most this many values (evenly strided)


def histogram_counts(values, edges: np.ndarray) -> np.ndarray:
    """Counts of all values on the fixed edges, outliers clipped into the end bins."""
    return histogram_counts_by_row(np.asarray(values, dtype=np.float32).reshape(1, -1), edges)[0]


def histogram_counts_by_row(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`histogram_counts` of each row of a 2-D array, as one (rows, bins) int32 array."""
    v = np.asarray(values, dtype=np.float32)
    rows = v.shape[0]
    lo, hi, bins = float(edges[0]), float(edges[-1]), len(edges) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        pos = (v - lo) * (bins / (hi - lo))
    # clip before the integer cast: inf or huge values would overflow it and land in bin 0
    idx = np.clip(np.nan_to_num(pos, nan=0.0), 0, bins - 1).astype(np.int64)
    idx += (np.arange(rows, dtype=np.int64) * bins)[:, None]
    return np.bincount(idx.ravel(), minlength=rows * bins).reshape(rows, bins).astype(np.int32)


def percentiles(values, qs) -> np.ndarray:
    """The qs-th percentiles (0-100) of the values (linear interpolation, as numpy's default)."""
    return np.percentile(np.asarray(values, dtype=np.float32).ravel(), list(qs)).astype(np.float32)


def pooled_sample(values: np.ndarray, limit: int = POOLED_SAMPLE) -> np.ndarray:
    """An evenly strided sample of at most `limit` values, the same positions every call."""
    flat = values.ravel()
    return flat[:: pooled_stride(flat.size, limit)]


def pooled_stride(size: int, limit: int = POOLED_SAMPLE) -> int:
    """The stride that takes at most `limit` of `size` values evenly."""
    return max(1, -(-size // limit))


def zone_fractions(pre: np.ndarray, activation: str) -> dict[str, float]:
    """Fractions of nonlinearity inputs that are saturated, near-linear, or (ReLU) dead.

    `dead_units` is the fraction of units whose input is <= 0 for every probe example.
    """
    return {k: float(v[0]) for k, v in
            zone_fractions_by_layer(np.asarray(pre)[None], activation).items()}


def zone_fractions_by_layer(pre: np.ndarray, activation: str) -> dict[str, np.ndarray]:
    """`zone_fractions` of each layer of a (layers, examples, units) array, (layers,) each."""
    n_layers = pre.shape[0]
    flat = pre.reshape(n_layers, -1)
    out = {k: np.full(n_layers, math.nan)
           for k in ("saturated", "linear_zone", "dead_units", "zero_outputs")}
    if activation in SATURATION_THRESHOLD:
        a = np.abs(flat)
        out["saturated"] = np.count_nonzero(a > SATURATION_THRESHOLD[activation], axis=1) / a.shape[1]
        out["linear_zone"] = np.count_nonzero(a < LINEAR_ZONE[activation], axis=1) / a.shape[1]
    elif activation == "relu":
        off = pre <= 0
        out["zero_outputs"] = np.count_nonzero(off.reshape(n_layers, -1), axis=1) / flat.shape[1]
        out["dead_units"] = off.all(axis=1).mean(1)
    return out


def layer_summary(pre, unit: int, qs, edges: np.ndarray, activation: str) -> dict:
    """Everything recorded about one hidden layer's nonlinearity input on the probe set.

    Pooled percentiles are taken over an evenly strided sample of at most POOLED_SAMPLE values;
    the probed unit's percentiles, the histogram and the zone fractions use every value."""
    pre = pre.detach().numpy() if isinstance(pre, torch.Tensor) else np.asarray(pre)
    col = pre[:, unit]
    return {
        "unit_pct": percentiles(col, qs),
        "pooled_pct": percentiles(pooled_sample(pre), qs),
        "mean": float(pre.mean()),
        "var": float(pre.var()),
        "unit_mean": float(col.mean()),
        "unit_var": float(col.var()),
        "hist": histogram_counts(pre, edges),
        **zone_fractions(pre, activation),
    }


SUMMARY_SCALARS = ("mean", "var", "unit_mean", "unit_var", "saturated", "linear_zone",
                   "dead_units", "zero_outputs")


def layer_summaries(pres, unit: int, qs, edges: np.ndarray, activation: str) -> dict:
    """`layer_summary` of every hidden layer at once, stacked: {"unit_pct": (L, q),
    "pooled_pct": (L, q), "hist": (L, bins), and each of SUMMARY_SCALARS: (L,) float32}.

    Layers of one shape (an MLP's) are summarised in one numpy call per quantity (a probe of a
    toy net made ~30 small calls per layer, most of its time); the values are layer_summary's,
    computed the same way along an axis."""
    arrays = [p.detach().numpy() if isinstance(p, torch.Tensor) else np.asarray(p) for p in pres]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 2:
        rows = [layer_summary(a, unit, qs, edges, activation) for a in arrays]
        out = {k: np.stack([r[k] for r in rows]) for k in ("unit_pct", "pooled_pct", "hist")}
        out.update({k: np.array([r[k] for r in rows], np.float32) for k in SUMMARY_SCALARS})
        return out
    pre = np.stack(arrays).astype(np.float32, copy=False)  # (L, N, W)
    n_layers, n, w = pre.shape
    flat = pre.reshape(n_layers, n * w)
    col = pre[:, :, unit]
    qs = list(qs)
    out = {
        "unit_pct": np.percentile(col, qs, axis=1).T.astype(np.float32),
        "pooled_pct": np.percentile(flat[:, :: pooled_stride(flat.shape[1])], qs,
                                    axis=1).T.astype(np.float32),
        "mean": flat.mean(1).astype(np.float32),
        "var": flat.var(1).astype(np.float32),
        "unit_mean": col.mean(1).astype(np.float32),
        "unit_var": col.var(1).astype(np.float32),
        "hist": histogram_counts_by_row(flat, edges),
    }
    out.update({k: v.astype(np.float32)
                for k, v in zone_fractions_by_layer(pre, activation).items()})
    return out


def gradient_norms(grads) -> np.ndarray:
    """L2 norm of each gradient (nan where there is none)."""
    return np.array([float(g.norm()) if g is not None else math.nan for g in grads],
                    dtype=np.float32)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean())


def loss_of(logits: torch.Tensor, y: torch.Tensor, regression: bool) -> torch.Tensor:
    """Cross-entropy for classification; mean squared error for regression targets."""
    if regression:
        return F.mse_loss(logits, y)
    return F.cross_entropy(logits, y)


def decision_grid(net, points: torch.Tensor, resolution: int) -> np.ndarray:
    """The net's predicted class and confidence on a grid, as uint8 (res, res, 2):
    [..., 0] = class index, [..., 1] = probability of the predicted class * 255."""
    was_training = net.training
    net.eval()
    with torch.no_grad():
        prob = torch.softmax(net(points), dim=1)
    net.train(was_training)
    conf, cls = prob.max(dim=1)
    grid = torch.stack([cls.to(torch.uint8), (conf * 255).round().to(torch.uint8)], dim=1)
    return grid.reshape(resolution, resolution, 2).numpy()


@contextlib.contextmanager
def restoring(net):
    """Probe a net without changing it: yields `restore()`, which puts back its parameters,
    buffers (running statistics) and noise state; called again on exit."""
    saved = [t.detach().clone() for t in net.state_dict(keep_vars=True).values()]
    state = net.generator.get_state()

    def restore():
        with torch.no_grad():
            for t, s in zip(net.state_dict(keep_vars=True).values(), saved):
                t.copy_(s)
        net.generator.set_state(state)

    try:
        yield restore
    finally:
        restore()


def internal_covariate_shift(net, x: torch.Tensor, y: torch.Tensor, lr: float,
                             regression: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Santurkar et al.'s ICS per layer: G_i = dL/dW_i now; G'_i = the same gradient on the same
    batch after layers 1..i-1 took their SGD step. Returns (||G - G'||_2, cos(G, G')) per layer.

    The net's noise generator state is restored before each pass, so noisy BN sees the same
    noise in G and G' and only the updates of the layers below differ.
    """
    params = [p for p in net.parameters() if p.requires_grad]
    weights = net.weight_tensors()
    layer_params = [list(lin.parameters()) for lin in net.linears] + [list(net.output.parameters())]
    if net.norms is not None:
        for i, norm in enumerate(net.norms):
            layer_params[i] += [p for p in norm.parameters() if p.requires_grad]
    dist, cos = [], []
    with restoring(net) as restore:
        grad_of = dict(zip(params, torch.autograd.grad(loss_of(net(x), y, regression), params)))
        for i, w in enumerate(weights):
            restore()
            with torch.no_grad():
                for lower in layer_params[:i]:
                    for p in lower:
                        p.sub_(lr * grad_of[p])
            g_new = torch.autograd.grad(loss_of(net(x), y, regression), [w])[0]
            g_old = grad_of[w]
            dist.append(float((g_old - g_new).norm()))
            g_old64, g_new64 = g_old.double(), g_new.double()  # float32 cos can exceed 1
            denom = float(g_old64.norm() * g_new64.norm())
            cos.append(max(-1.0, min(1.0, float((g_old64 * g_new64).sum()) / denom))
                       if denom > 0 else math.nan)
    return np.array(dist, np.float32), np.array(cos, np.float32)


def loss_landscape(net, x: torch.Tensor, y: torch.Tensor, step_sizes, regression: bool = False
                   ) -> dict:
    """Santurkar et al.'s probes along the gradient g at the current weights w, for each step
    size eta: the loss L(w - eta g) and the gradient change ||g(w) - g(w - eta g)||.

    Returns the per-step-size arrays (`scape_loss`, `scape_grad_change`, in the order of
    `step_sizes`) and their summaries: the range of the loss over the step sizes (Lipschitzness
    of the loss), the largest gradient change (gradient predictiveness), and the effective
    beta-smoothness max ||delta g|| / ||eta g||."""
    params = [p for p in net.parameters() if p.requires_grad]
    losses, gdiffs, betas = [], [], []
    with restoring(net) as restore:
        g0 = torch.autograd.grad(loss_of(net(x), y, regression), params)
        gnorm = math.sqrt(sum(float((g * g).sum()) for g in g0))
        for eta in step_sizes:
            restore()
            with torch.no_grad():
                for p, g in zip(params, g0):
                    p.sub_(eta * g)
            loss = loss_of(net(x), y, regression)
            g1 = torch.autograd.grad(loss, params)
            diff = math.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(g0, g1)))
            losses.append(float(loss.detach()))
            gdiffs.append(diff)
            betas.append(diff / (eta * gnorm) if gnorm > 0 else math.nan)
    finite = [v for v in losses if math.isfinite(v)]
    finite_diffs = [v for v in gdiffs if math.isfinite(v)]
    finite_betas = [v for v in betas if math.isfinite(v)]
    return {
        "loss_range": (max(finite) - min(finite)) if finite else math.nan,
        "grad_change": max(finite_diffs) if finite_diffs else math.nan,
        "beta_smoothness": max(finite_betas) if finite_betas else math.nan,
        "scape_loss": np.array(losses, np.float32),
        "scape_grad_change": np.array(gdiffs, np.float32),
    }


# ---------------------------------------------------------------------------- newer lessons

CHANNEL_KEYS = ("channel_mean", "channel_var", "pre_channel_mean", "pre_channel_var")


def channel_records(trace: list) -> tuple[dict, dict]:
    """From a probe's trace, what a page needs beyond the MLP's records: a history row
    {key: (layers, C) array} of per-channel means and variances over N, H, W (of the conv
    output and of the nonlinearity's input), and {"maps": [(C, H, W) per layer]} of the batch's
    first image for the latest record. Empty for an MLP's trace."""
    if not trace or "maps" not in trace[0]:
        return {}, {}
    row = {k: np.stack([t[k].detach().numpy().astype(np.float32) for t in trace])
           for k in CHANNEL_KEYS}
    latest = {"maps": [t["maps"].detach().numpy().astype(np.float32) for t in trace]}
    return row, latest


def train_mode_accuracy(net, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                        seed: int = 0) -> float:
    """Accuracy on (x, y) with the net in training mode: the examples in batches of
    `batch_size` (a fixed random order; a partial last batch dropped), each normalised with its
    own batch's statistics, as the net saw its data while it trained. The net is left exactly
    as it was (running statistics included): eval-mode accuracy compares with this one."""
    if batch_size < 2:
        raise ValueError(f"batch_size: got {batch_size}; training-mode BN needs at least 2")
    order = torch.from_numpy(np.random.default_rng([seed, 29]).permutation(len(x)))
    n = len(x) // batch_size * batch_size
    if n == 0:
        raise ValueError(f"batch_size: got {batch_size}; only {len(x)} examples")
    correct = 0
    was_training = net.training
    net.train()
    with restoring(net), torch.no_grad():
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            correct += int((net(x[idx]).argmax(1) == y[idx]).sum())
    net.train(was_training)
    return correct / n
