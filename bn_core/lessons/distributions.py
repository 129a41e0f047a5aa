"""How a layer's input distribution moves during training (T3, T4, T6), as pure functions of
the recorded probes: percentile-band drift, mean/variance drift, histogram summaries.

Inputs are the arrays a run records (`NetView.probes`, `NetView.evals`): a `step` column and
per-step rows. Nothing here plots or imports streamlit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_DENSITY_FLOOR = -4.0  # log10 of the smallest fraction drawn (0.01 % of the values)


@dataclass(frozen=True)
class BandDrift:
    """How one percentile band (low, median, high) moved between the first record and now."""

    median_start: float
    median_now: float
    median_low: float       # lowest median seen so far
    median_high: float     # highest median seen so far
    width_start: float     # high - low percentile at the first record
    width_now: float

    @property
    def median_range(self) -> float:
        """How far the median wandered: max - min over the whole run so far."""
        return self.median_high - self.median_low

    @property
    def median_shift(self) -> float:
        """Where the median is now relative to where it started."""
        return self.median_now - self.median_start


def band_drift(pct: np.ndarray) -> BandDrift | None:
    """Drift of a percentile band from rows (n_steps, k) of k ascending percentiles.

    The median is the middle column (as the band figures draw it); None with no rows."""
    pct = np.asarray(pct, dtype=np.float64)
    if pct.ndim != 2 or len(pct) == 0:
        return None
    keep = np.isfinite(pct).all(axis=1)
    pct = pct[keep]
    if len(pct) == 0:
        return None
    mid = pct[:, pct.shape[1] // 2]
    width = pct[:, -1] - pct[:, 0]
    return BandDrift(median_start=float(mid[0]), median_now=float(mid[-1]),
                     median_low=float(mid.min()), median_high=float(mid.max()),
                     width_start=float(width[0]), width_now=float(width[-1]))


@dataclass(frozen=True)
class MomentDrift:
    """One layer's input mean and variance at the first record and now, and their extremes."""

    mean_start: float
    mean_now: float
    var_start: float
    var_now: float
    mean_range: float       # max - min of the mean over the run so far
    var_ratio_max: float    # largest var / var_start seen (how much the spread grew)

    @property
    def var_ratio(self) -> float:
        """var_now / var_start (inf if it started at 0)."""
        return self.var_now / self.var_start if self.var_start > 0 else math.inf


def moment_drift(mean: np.ndarray, var: np.ndarray) -> list[MomentDrift]:
    """Per layer drift from rows (n_steps, n_layers) of means and variances."""
    mean = np.asarray(mean, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    if mean.ndim != 2 or len(mean) == 0:
        return []
    out = []
    for layer in range(mean.shape[1]):
        m, v = mean[:, layer], var[:, layer]
        ok = np.isfinite(m) & np.isfinite(v)
        m, v = m[ok], v[ok]
        if len(m) == 0:
            continue
        ratio = float(v.max() / v[0]) if v[0] > 0 else math.inf
        out.append(MomentDrift(mean_start=float(m[0]), mean_now=float(m[-1]),
                               var_start=float(v[0]), var_now=float(v[-1]),
                               mean_range=float(m.max() - m.min()), var_ratio_max=ratio))
    return out


def value_at_step(steps: np.ndarray, values: np.ndarray, step: int) -> float:
    """The value recorded at `step`, or at the last record before it; nan if not reached yet."""
    steps = np.asarray(steps)
    if len(steps) == 0 or steps[-1] < step:
        return math.nan
    i = int(np.searchsorted(steps, step, side="right")) - 1
    return float(values[i]) if i >= 0 else math.nan


def bin_centres(edges: np.ndarray) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.float64)
    return (edges[:-1] + edges[1:]) / 2


def fractions(counts: np.ndarray) -> np.ndarray:
    """Counts (..., bins) as fractions of each row's total (rows of zeros stay zero)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def log_density(counts: np.ndarray, floor: float = LOG_DENSITY_FLOOR) -> np.ndarray:
    """log10 of each bin's fraction of the row, floored (empty bins sit at `floor`)."""
    frac = fractions(counts)
    with np.errstate(divide="ignore"):
        out = np.log10(frac)
    return np.maximum(out, floor)


def histogram_moments(counts: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and skewness of a histogram, from its bin centres.

    Approximate: values beyond the edges were clipped into the end bins. Skewness near 0 means
    symmetric (a linear layer's output); a ReLU's output is strongly right-skewed."""
    w = fractions(counts)
    if w.sum() == 0:
        return {"mean": math.nan, "std": math.nan, "skew": math.nan}
    c = bin_centres(edges)
    mean = float((w * c).sum())
    var = float((w * (c - mean) ** 2).sum())
    std = math.sqrt(var)
    skew = float((w * (c - mean) ** 3).sum() / std ** 3) if std > 0 else 0.0
    return {"mean": mean, "std": std, "skew": skew}


def mass_near(counts: np.ndarray, edges: np.ndarray, value: float = 0.0) -> float:
    """Fraction of the values in the bin that holds `value` (e.g. a ReLU's exact zeros)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return math.nan
    i = int(np.clip(np.searchsorted(edges, value, side="right") - 1, 0, len(counts) - 1))
    return float(counts[i] / total)


def evenly_spaced(n: int, limit: int) -> np.ndarray:
    """At most `limit` indices of range(n), evenly spaced, always with the first and last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, limit)).astype(np.int64))


def layers_to_show(depth: int, limit: int = 6) -> list[int]:
    """Which hidden layers (0-based) small multiples show: all, or `limit` evenly spaced
    including the first and the last."""
    return [int(i) for i in evenly_spaced(depth, limit)]


# ---------------------------------------------------------------------------- page text (T3, T6)

def layer_moments_text(snap, layer: int) -> str:
    """Each net's mean and variance of one layer's nonlinearity input, first probe -> now."""
    rows, probed = [], 0
    for v in snap.nets.values():
        if len(v.probes.get("step", ())) == 0:
            continue
        drift = moment_drift(v.probes["mean"], v.probes["var"])
        probed = max(probed, int(v.probes["step"][-1]))
        if layer < len(drift):
            d = drift[layer]
            rows.append(f"- **{v.label}**: mean {d.mean_start:+.2f} → {d.mean_now:+.2f}, "
                        f"variance {d.var_start:.3g} → {d.var_now:.3g}")
    act = snap.config.activation
    return f"**Layer {layer + 1}'s {act} input, step 0 → {probed:,}**\n" + "\n".join(rows)


def largest_drift_text(snap) -> str:
    """Per net, the layer whose input variance grew most (relative to its start), by how much,
    and how far its mean wandered."""
    rows = []
    for v in snap.nets.values():
        if len(v.probes.get("step", ())) == 0:
            continue
        layers = moment_drift(v.probes["mean"], v.probes["var"])
        if not layers:
            continue
        top = max(range(len(layers)), key=lambda i: layers[i].var_ratio_max
                  if math.isfinite(layers[i].var_ratio_max) else -1)
        d = layers[top]
        rows.append(f"- **{v.label}**: layer {top + 1}'s variance grew up to "
                    f"**{d.var_ratio_max:.3g}×** its start ({d.var_start:.3g} → {d.var_now:.3g} "
                    f"now); its mean wandered over {d.mean_range:.2f}")
    return "**Largest drift, measured**\n" + "\n".join(rows)


INIT_WORDS = {"default": "N(0, 1/fan_in)", "he": "He's N(0, 2/fan_in)",
              "xavier": "Xavier's N(0, 2/(fan_in + fan_out))", "small": "a small N(0, 0.01^2)"}


def init_words(config) -> str:
    """The run's initial weights in words."""
    if config.init == "scaled":
        return f"N(0, {config.init_scale:g}^2/fan_in)"
    return INIT_WORDS[config.init]


def start_variance_text(snap) -> str | None:
    """How the plain net's layers start, from its first probe: comparable variances (a
    principled init), or shrinking/growing layer by layer, in which case part of the later
    "growth" is the recovery from a bad start, not covariate shift."""
    plain = snap.nets.get("plain")
    if plain is None or len(plain.probes.get("step", ())) == 0:
        return None
    var0 = np.asarray(plain.probes["var"][0], np.float64)
    if var0.size < 2 or not np.all(np.isfinite(var0)) or np.any(var0 <= 0):
        return None
    spread = float(var0.max() / var0.min())
    head = (f"The weights start as {init_words(snap.config)}: the plain net's layers start with "
            f"input variances from {var0.min():.3g} to {var0.max():.3g}")
    if spread <= 4:
        return head + (" (within a factor of 4 of each other), so the growth below is "
                       "training moving them, not a recovery from a lopsided start.")
    return head + (f", {spread:.0f}x apart: a layer that starts {spread:.0f}x too small "
                   "\"grows\" that much just by recovering, so part of the growth below is the "
                   "initialisation, not covariate shift. **Try** He's init for ReLU nets.")


def bn_input_text(snap, layers) -> str | None:
    """What BN normalises in the BN net at the last probe: the share in the bin at 0 and the
    skewness, per shown layer (None without a BN net or records)."""
    bn = snap.nets.get("bn")
    if bn is None or len(bn.probes.get("step", ())) == 0 or snap.bn_edges is None:
        return None
    rows = []
    for l in layers:
        counts = bn.probes["bn_hist"][-1, l]
        m = histogram_moments(counts, snap.bn_edges)
        rows.append(f"- layer {l + 1}: **{mass_near(counts, snap.bn_edges):.0%}** of the values "
                    f"in the bin at 0; skewness {m['skew']:+.2f}")
    return (f"**BN's input in the BN net, step {int(bn.probes['step'][-1]):,}**\n"
            + "\n".join(rows))


MOVED = 2.0        # a layer's input variance growing this many times its start has "moved"
SYMMETRIC = 0.5    # |skewness| below this: a mean and a variance describe the values well
SKEWED = 1.0       # skewness above this: a one-sided tail


def _drifts(snap) -> dict:
    """net name -> per-layer MomentDrift, for the nets that have probes."""
    return {n: moment_drift(v.probes["mean"], v.probes["var"]) for n, v in snap.nets.items()
            if len(v.probes.get("step", ())) and "mean" in v.probes}


def layer_drift_reading(snap, layer: int) -> str:
    """Whether the layer shown moved in each net, computed from the run (plain vs BN), and what
    the BN net's nonlinearity input is given where BN sits."""
    drifts = _drifts(snap)
    if not {"plain", "bn"} <= set(drifts) or layer >= len(drifts["plain"]) \
            or layer >= len(drifts["bn"]) or len(snap.nets["plain"].probes["step"]) < 3:
        return ""
    p, b = drifts["plain"][layer], drifts["bn"][layer]
    if p.var_ratio_max >= MOVED:
        out = (f"Here the plain net's layer-{layer + 1} input **moved**: its variance grew up "
               f"to {p.var_ratio_max:.3g}× its start and its mean wandered over "
               f"{p.mean_range:.2f}, "
               + ("as its own weights changed (layer 1 reads the data itself)." if layer == 0
                  else "as its own weights and the layers below it changed."))
    else:
        out = (f"Here the plain net's layer-{layer + 1} input has hardly moved (variance "
               f"at most {p.var_ratio_max:.3g}× its start, mean within {p.mean_range:.2f}).")
    if snap.config.placement == "before":
        out += (f" In the BN net this input is BN's output, centred and scaled over every "
                f"batch: variance at most {b.var_ratio_max:.3g}× its start.")
    else:
        out += (" With BN *after* the activation, the BN net's nonlinearity input is a plain "
                f"linear output again: its variance grew up to {b.var_ratio_max:.3g}× its start.")
    return out


def depth_drift_reading(snap) -> str:
    """Where in the plain net the input moved most, computed from the run: whether the drift
    grows towards the top layers (each adds its own change to those below)."""
    drifts = _drifts(snap).get("plain")
    if not drifts or len(drifts) < 2 or len(snap.nets["plain"].probes["step"]) < 3:
        return ""
    ratios = [d.var_ratio_max for d in drifts]
    top = max(range(len(ratios)), key=lambda i: ratios[i] if math.isfinite(ratios[i]) else -1)
    words = ", ".join(f"layer {i + 1} {r:.3g}×" for i, r in enumerate(ratios))
    if top == len(ratios) - 1 and ratios[-1] >= ratios[0]:
        return (f"In the plain net the largest growth of the variance is at the top ({words}): "
                "each layer adds its own change to the changes of the layers below.")
    return (f"Here the plain net's largest growth of the variance is in layer {top + 1}, not "
            f"at the top ({words}).")


def placement_reading(snap, layers) -> str:
    """What BN normalises, computed from the run's last probe: symmetric linear outputs (BN
    before the activation), or a spike at 0 and a one-sided tail (BN after a ReLU)."""
    bn = snap.nets.get("bn")
    if bn is None or len(bn.probes.get("step", ())) == 0 or snap.bn_edges is None \
            or "bn_hist" not in bn.probes:
        return ""
    cfg = snap.config
    stats = [histogram_moments(bn.probes["bn_hist"][-1, l], snap.bn_edges) for l in layers]
    zeros = [mass_near(bn.probes["bn_hist"][-1, l], snap.bn_edges) for l in layers]
    skews = [s["skew"] for s in stats if math.isfinite(s["skew"])]
    if not skews:
        return ""
    worst = max(abs(s) for s in skews)
    where = ("linear outputs" if cfg.placement == "before" else f"the {cfg.activation}'s outputs")
    if worst < SYMMETRIC:
        shape = (f"BN normalises {where}, and here they are symmetric (skewness within "
                 f"±{worst:.2f}): a mean and a variance describe them well.")
    elif min(skews) > SKEWED:
        shape = (f"BN normalises {where}, and here they are skewed (skewness "
                 f"{min(skews):+.2f} to {max(skews):+.2f}), a one-sided tail: a mean and a "
                 "variance describe that poorly.")
    else:
        shape = (f"BN normalises {where}; here their skewness ranges from {min(skews):+.2f} "
                 f"to {max(skews):+.2f}.")
    if cfg.placement == "after" and cfg.activation == "relu":
        shape += (f" The ReLU sets every negative input to 0: {min(zeros):.0%}-{max(zeros):.0%} "
                  "of what BN receives sits in the bin at 0.")
    return shape
