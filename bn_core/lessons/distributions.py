"""How a layer's input distribution moves during training (T3, T4, T6), as pure functions of
the recorded probes: percentile-band drift, mean/variance drift, histogram summaries.

Inputs are the arrays a run records (`NetView.probes`, `NetView.evals`): a `step` column and
per-step rows. Nothing here plots or imports streamlit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.i18n import N_, _

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
            rows.append(_("- **{net}**: mean {mean_start:+.2f} → {mean_now:+.2f}, variance "
                          "{var_start:.3g} → {var_now:.3g}").format(
                              net=_(v.label), mean_start=d.mean_start, mean_now=d.mean_now,
                              var_start=d.var_start, var_now=d.var_now))
    act = snap.config.activation
    return _("**Layer {layer}'s {activation} input, step 0 → {step:,}**").format(
        layer=layer + 1, activation=act, step=probed) + "\n" + "\n".join(rows)


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
        rows.append(_("- **{net}**: layer {layer}'s variance grew up to **{ratio:.3g}×** its "
                      "start ({var_start:.3g} → {var_now:.3g} now); its mean wandered over "
                      "{mean_range:.2f}").format(
                          net=_(v.label), layer=top + 1, ratio=d.var_ratio_max,
                          var_start=d.var_start, var_now=d.var_now, mean_range=d.mean_range))
    return _("**Largest drift, measured**") + "\n" + "\n".join(rows)


INIT_WORDS = {"default": "N(0, 1/fan_in)", "he": N_("He's N(0, 2/fan_in)"),
              "xavier": N_("Xavier's N(0, 2/(fan_in + fan_out))"),
              "small": N_("a small N(0, 0.01^2)")}


def init_words(config) -> str:
    """The run's initial weights in words."""
    if config.init == "scaled":
        return f"N(0, {config.init_scale:g}^2/fan_in)"
    return _(INIT_WORDS[config.init])


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
    values = dict(init=init_words(snap.config), lo=var0.min(), hi=var0.max(), spread=spread)
    if spread <= 4:
        return _("The weights start as {init}: the plain net's layers start with input "
                 "variances from {lo:.3g} to {hi:.3g} (within a factor of 4 of each other), so "
                 "the growth below is training moving them, not a recovery from a lopsided "
                 "start.").format(**values)
    return _("The weights start as {init}: the plain net's layers start with input variances "
             "from {lo:.3g} to {hi:.3g}, {spread:.0f}x apart: a layer that starts {spread:.0f}x "
             "too small \"grows\" that much just by recovering, so part of the growth below is "
             "the initialisation, not covariate shift. **Try** He's init for ReLU nets.").format(
                 **values)


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
        rows.append(_("- layer {layer}: **{share:.0%}** of the values in the bin at 0; "
                      "skewness {skew:+.2f}").format(
                          layer=l + 1, share=mass_near(counts, snap.bn_edges), skew=m['skew']))
    return (_("**BN's input in the BN net, step {step:,}**").format(
                step=int(bn.probes['step'][-1])) + "\n" + "\n".join(rows))


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
    values = dict(layer=layer + 1, ratio=p.var_ratio_max, mean_range=p.mean_range)
    if p.var_ratio_max >= MOVED and layer == 0:
        out = _("Here the plain net's layer-{layer} input **moved**: its variance grew up to "
                "{ratio:.3g}× its start and its mean wandered over {mean_range:.2f}, as its own "
                "weights changed (layer 1 reads the data itself).").format(**values)
    elif p.var_ratio_max >= MOVED:
        out = _("Here the plain net's layer-{layer} input **moved**: its variance grew up to "
                "{ratio:.3g}× its start and its mean wandered over {mean_range:.2f}, as its own "
                "weights and the layers below it changed.").format(**values)
    else:
        out = _("Here the plain net's layer-{layer} input has hardly moved (variance at most "
                "{ratio:.3g}× its start, mean within {mean_range:.2f}).").format(**values)
    if snap.config.placement == "before":
        out += _(" In the BN net this input is BN's output, centred and scaled over every "
                 "batch: variance at most {ratio:.3g}× its start.").format(ratio=b.var_ratio_max)
    else:
        out += _(" With BN *after* the activation, the BN net's nonlinearity input is a plain "
                 "linear output again: its variance grew up to {ratio:.3g}× its start.").format(
                     ratio=b.var_ratio_max)
    return out


def depth_drift_reading(snap) -> str:
    """Where in the plain net the input moved most, computed from the run: whether the drift
    grows towards the top layers (each adds its own change to those below)."""
    drifts = _drifts(snap).get("plain")
    if not drifts or len(drifts) < 2 or len(snap.nets["plain"].probes["step"]) < 3:
        return ""
    ratios = [d.var_ratio_max for d in drifts]
    top = max(range(len(ratios)), key=lambda i: ratios[i] if math.isfinite(ratios[i]) else -1)
    words = _(", ").join(_("layer {layer} {ratio:.3g}×").format(layer=i + 1, ratio=r)
                         for i, r in enumerate(ratios))
    if top == len(ratios) - 1 and ratios[-1] >= ratios[0]:
        return _("In the plain net the largest growth of the variance is at the top ({layers}): "
                 "each layer adds its own change to the changes of the layers below.").format(
                     layers=words)
    return _("Here the plain net's largest growth of the variance is in layer {layer}, not at "
             "the top ({layers}).").format(layer=top + 1, layers=words)


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
    where = (_("linear outputs") if cfg.placement == "before" else
             _("the {activation}'s outputs").format(activation=cfg.activation))
    if worst < SYMMETRIC:
        shape = _("BN normalises {what}, and here they are symmetric (skewness within "
                  "±{worst:.2f}): a mean and a variance describe them well.").format(
                      what=where, worst=worst)
    elif min(skews) > SKEWED:
        shape = _("BN normalises {what}, and here they are skewed (skewness {lo:+.2f} to "
                  "{hi:+.2f}), a one-sided tail: a mean and a variance describe that "
                  "poorly.").format(what=where, lo=min(skews), hi=max(skews))
    else:
        shape = _("BN normalises {what}; here their skewness ranges from {lo:+.2f} to "
                  "{hi:+.2f}.").format(what=where, lo=min(skews), hi=max(skews))
    if cfg.placement == "after" and cfg.activation == "relu":
        shape += _(" The ReLU sets every negative input to 0: {lo:.0%}-{hi:.0%} of what BN "
                   "receives sits in the bin at 0.").format(lo=min(zeros), hi=max(zeros))
    return shape
