"""Santurkar et al. 2018 ("How does batch normalization help optimization?") as measured in a
run: internal covariate shift by gradients, training progress, loss-landscape probes, and the
conclusions a student should draw, written from the numbers (T13).

ICS of layer i at a step: G = dL/dW_i; G' = the same gradient on the same batch after the
layers below i took their update. cos(G, G') = 1 and ||G - G'|| = 0 mean no shift. Layer 1 has
no layer below it, so its G' = G always: it is left out of the averages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

COS_TOLERANCE = 0.02        # cosines closer than this count as "about the same"
MUCH_BETTER = 0.8           # a loss below 0.8x the other net's is "much" lower
ABOUT_EQUAL = 0.05          # losses within 5% of each other count as "about the same"
LANDSCAPE_PROBES = ("loss_range", "grad_change", "beta_smoothness")
PROBE_WORDS = {"loss_range": "the range of the loss along the gradient",
               "grad_change": "the change of the gradient along it",
               "beta_smoothness": "the effective beta-smoothness"}


def _finite_mean(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _last_finite(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v[-1]) if v.size else math.nan


@dataclass(frozen=True)
class ShiftSummary:
    """What one net measured: ICS (layers 2..L+1), training progress, landscape probes."""

    name: str
    label: str
    status: str
    diverged_at: int | None
    ics_records: int
    mean_cos: float              # over steps and layers 2..L+1
    mean_dist: float
    cos_by_layer: np.ndarray     # (L+1,), averaged over steps
    dist_by_layer: np.ndarray
    first_loss: float            # training-mode loss, first recorded probe
    last_loss: float             # training-mode loss, last recorded probe
    last_acc: float              # training accuracy (eval mode), nan for regression
    loss_step: int
    landscape: dict              # probe name -> mean over steps
    input_jitter: float          # mean |change| of a layer input's mean between probes

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"


def shift_summary(view) -> ShiftSummary:
    """Summarise a NetView's ICS, loss and landscape records."""
    ics, probes, evals = view.ics, view.probes, view.evals
    n = len(ics.get("step", ()))
    if n:
        cos, dist = np.asarray(ics["cos"], np.float64), np.asarray(ics["dist"], np.float64)
        with np.errstate(all="ignore"):
            cos_layer = np.array([_finite_mean(cos[:, j]) for j in range(cos.shape[1])])
            dist_layer = np.array([_finite_mean(dist[:, j]) for j in range(dist.shape[1])])
        mean_cos, mean_dist = _finite_mean(cos[:, 1:]), _finite_mean(dist[:, 1:])
        scape = {k: _finite_mean(ics[k]) for k in LANDSCAPE_PROBES if k in ics}
    else:
        cos_layer = dist_layer = np.array([])
        mean_cos = mean_dist = math.nan
        scape = {k: math.nan for k in LANDSCAPE_PROBES}
    losses = probes.get("loss", np.array([]))
    steps = probes.get("step", np.array([], np.int64))
    finite = np.isfinite(np.asarray(losses, np.float64))
    first = float(losses[finite][0]) if finite.any() else math.nan
    last = float(losses[finite][-1]) if finite.any() else math.nan
    loss_step = int(steps[finite][-1]) if finite.any() else 0
    acc = _last_finite(evals.get("train_acc", []))
    return ShiftSummary(input_jitter=input_jitter(probes),
                        name=view.name, label=view.label, status=view.status,
                        diverged_at=view.diverged_at, ics_records=n, mean_cos=mean_cos,
                        mean_dist=mean_dist, cos_by_layer=cos_layer, dist_by_layer=dist_layer,
                        first_loss=first, last_loss=last, last_acc=acc, loss_step=loss_step,
                        landscape=scape)


def input_jitter(probes: dict) -> float:
    """How much the hidden layers' input distributions move from one probe to the next: the
    mean over layers and consecutive probes of |change of the layer input's mean|."""
    means = np.asarray(probes.get("mean", np.empty((0, 0))), np.float64)
    if means.ndim != 2 or means.shape[0] < 2:
        return math.nan
    return _finite_mean(np.abs(np.diff(means, axis=0)))


def _loss_words(s: ShiftSummary, classification: bool) -> str:
    if s.diverged:
        return f"diverged at step {s.diverged_at}"
    text = f"training loss {s.last_loss:.3g}"
    if classification and math.isfinite(s.last_acc):
        text += f" (training accuracy {s.last_acc:.2f})"
    return text


def conclusions(nets: dict, classification: bool, min_records: int = 2) -> list[str]:
    """The sentences the page prints under "What should you conclude?", from the measurements.

    `nets` maps net kind -> NetView; needs "plain" and "bn" with at least `min_records` ICS
    measurements each, else returns an empty list (not measured yet)."""
    if "plain" not in nets or "bn" not in nets:
        return []
    s = {name: shift_summary(view) for name, view in nets.items()}
    plain, bn = s["plain"], s["bn"]
    if min(plain.ics_records, bn.ics_records) < min_records and not (plain.diverged or bn.diverged):
        return []
    out = []
    # 1. does BN reduce ICS?
    ics_reduced = None
    if math.isfinite(bn.mean_cos) and math.isfinite(plain.mean_cos):
        diff = bn.mean_cos - plain.mean_cos
        sentence = (f"In this run BN's mean cos(G, G') was **{bn.mean_cos:.2f}** vs plain "
                    f"**{plain.mean_cos:.2f}** (1 = a layer's gradient did not change when the "
                    f"layers below it were updated), and its mean gradient change ||G - G'|| "
                    f"was {bn.mean_dist:.3g} vs {plain.mean_dist:.3g}: ")
        if diff < -COS_TOLERANCE:
            ics_reduced = False
            sentence += "**BN did NOT reduce internal covariate shift; it increased it.**"
        elif diff > COS_TOLERANCE:
            ics_reduced = True
            sentence += "**here BN did reduce internal covariate shift** by this measure."
        else:
            ics_reduced = False
            sentence += "**BN left internal covariate shift about where it was.**"
        out.append(sentence)
    else:
        out.append("A net diverged before its internal covariate shift could be measured: "
                   f"plain {_loss_words(plain, classification)}, BN "
                   f"{_loss_words(bn, classification)}.")
    # 2. does BN train better?
    if plain.diverged and not bn.diverged:
        bn_better = True
        out.append(f"The plain net **diverged at step {plain.diverged_at}**; BN reached "
                   f"{_loss_words(bn, classification)} with the same learning rate.")
    elif bn.diverged:
        bn_better = False
        out.append(f"BN **diverged at step {bn.diverged_at}** (plain: "
                   f"{_loss_words(plain, classification)}): lower the learning rate.")
    else:
        ratio = bn.last_loss / plain.last_loss if plain.last_loss > 0 else math.nan
        bn_better = bool(ratio < 1.0 - ABOUT_EQUAL)
        how = ("much better" if ratio < MUCH_BETTER else "a little better" if bn_better
               else "about as well as the plain net" if ratio <= 1.0 + ABOUT_EQUAL
               else "worse")
        joiner = "Yet" if ics_reduced is False and bn_better else "And"
        out.append(f"{joiner} BN trained **{how}**: at step {bn.loss_step:,} BN had "
                   f"{_loss_words(bn, classification)} and plain had "
                   f"{_loss_words(plain, classification)} (loss in training mode, as each "
                   "net sees it while it learns).")
    # 3. noisy BN
    if "noisy_bn" in s:
        nb = s["noisy_bn"]
        if nb.diverged:
            out.append(f"Noisy BN diverged at step {nb.diverged_at}.")
        else:
            vs_bn = ("about as well as BN" if nb.last_loss <= max(1.25 * bn.last_loss,
                                                                 bn.last_loss + 0.02)
                     else "worse than BN")
            vs_plain = ("better than the plain net" if plain.diverged or
                        nb.last_loss < plain.last_loss else "no better than the plain net")
            cos = f", mean cos(G, G') {nb.mean_cos:.2f}" if math.isfinite(nb.mean_cos) else ""
            stability = ""
            if math.isfinite(nb.input_jitter) and math.isfinite(plain.input_jitter):
                more = nb.input_jitter > plain.input_jitter
                stability = (f" Its layer inputs' means moved by {nb.input_jitter:.3g} from one "
                             f"probe to the next on average, vs {plain.input_jitter:.3g} for the "
                             f"plain net: its input distributions were "
                             f"**{'less' if more else 'more'} stable** than the plain net's.")
            out.append(f"**Noisy BN** (BN, then a random shift and scale of every layer input, "
                       f"new at every step) trained {vs_bn} and {vs_plain}: "
                       f"{_loss_words(nb, classification)}{cos}.{stability}")
    if "noisy_plain" in s:
        npl = s["noisy_plain"]
        out.append(f"The same noise in the **plain net** gave {_loss_words(npl, classification)}"
                   f" (plain without noise: {_loss_words(plain, classification)}).")
    # 4. the landscape
    rows = [(k, bn.landscape.get(k, math.nan), plain.landscape.get(k, math.nan))
            for k in LANDSCAPE_PROBES]
    rows = [(k, b, p) for k, b, p in rows if math.isfinite(b) and math.isfinite(p)]
    if rows:
        smoother = [k for k, b, p in rows if b < p]
        parts = "; ".join(f"{PROBE_WORDS[k]} {b:.3g} vs {p:.3g}" for k, b, p in rows)
        verdict = ("**BN's loss landscape was smoother** on every probe"
                   if len(smoother) == len(rows) else "**BN's landscape was not smoother** on any probe" if not smoother
                   else f"BN's landscape was smoother on {len(smoother)} of {len(rows)} probes")
        sentence = f"Along the gradient (BN vs plain, averaged over the run): {parts}. {verdict}."
        if (not plain.diverged and math.isfinite(plain.first_loss)
                and plain.last_loss > 0.9 * plain.first_loss):
            sentence += (" Careful: the plain net has hardly left its starting loss, and a net "
                         "stuck on a plateau has a flat landscape too.")
        out.append(sentence)
    # 5. the verdict
    if ics_reduced is False and bn_better:
        out.append("**So BN's advantage here did not come from reducing internal covariate "
                   "shift** as measured by gradients: Santurkar et al.'s conclusion.")
    elif ics_reduced and bn_better:
        out.append("Here BN both reduced gradient-measured ICS and trained better: the 2015 "
                   "story fits this run. Try the deep linear setup, or a larger learning rate.")
    elif not bn_better:
        out.append("BN did not help in this run, so it says little about why BN helps: try "
                   "more steps or a larger learning rate.")
    return out
