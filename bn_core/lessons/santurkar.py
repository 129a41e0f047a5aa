"""Santurkar et al. 2018 ("How does batch normalization help optimization?") as measured in a
run: internal covariate shift by gradients, training progress, loss-landscape probes, and the
conclusions a student should draw, written from the numbers (T13).

ICS of layer i at a step: G = dL/dW_i; G' = the same gradient on the same batch after the
layers below i took their update. cos(G, G') = 1 and ||G - G'|| = 0 mean no shift. Layer 1 has
no layer below it, so its G' = G always: it is left out of the averages. The two measures can
disagree (||G - G'|| grows with the gradient's size, the cosine does not), so each is judged
on its own.

Landscape probes, at each ICS measurement: from the current weights, steps of
`probes.LANDSCAPE_STEP_SIZES` times the learning rate along the gradient. A run summarises
each probe by its median over the measurements (not the mean, which the first few steps'
transient dominates), and each probe gets its own verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.nets.models import NOISE_MEAN_RANGE, NOISE_SCALE_RANGE
from bn_core.nets.probes import LANDSCAPE_STEP_SIZES

COS_TOLERANCE = 0.02        # cosines closer than this count as "about the same"
DIST_TOLERANCE = 0.10       # ||G - G'|| within 10% of each other counts as "about the same"
MUCH_BETTER = 0.8           # a loss below 0.8x the other net's is "much" lower
ABOUT_EQUAL = 0.05          # losses within 5% of each other count as "about the same"
PROBE_TOLERANCE = 0.10      # landscape medians within 10% of each other: "about the same"
PLATEAU_FRACTION = 0.9      # a training loss above 0.9x its first value: still on its plateau
PLATEAU_SHARE = 1 / 3       # warn when more than this share of measurements fell on a plateau
EVAL_GAP = 1.5              # an evaluation loss 1.5x the training-mode loss needs explaining
LANDSCAPE_PROBES = ("loss_range", "grad_change", "beta_smoothness")
PROBE_WORDS = {"loss_range": "the loss varied over a range of",
               "grad_change": "the gradient changed by at most",
               "beta_smoothness": "the effective beta-smoothness was"}
PROBE_NAMES = {"loss_range": "loss range", "grad_change": "gradient change",
               "beta_smoothness": "effective beta-smoothness"}
# What the noise alone does to a layer input's mean between two probes: its per-step shift
# mu_t ~ U(a, b) is drawn afresh, and E|U - U'| = (b - a) / 3 for two independent draws.
NOISE_MEAN_JUMP = (NOISE_MEAN_RANGE[1] - NOISE_MEAN_RANGE[0]) / 3
NOISE_MEAN_SCALE = sum(NOISE_SCALE_RANGE) / 2  # E[sigma_t]: the noise's average scale


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def _finite_mean(values) -> float:
    v = _finite(values)
    return float(v.mean()) if v.size else math.nan


def _finite_median(values) -> float:
    v = _finite(values)
    return float(np.median(v)) if v.size else math.nan


def _last_finite(values) -> float:
    v = _finite(values)
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
    eval_loss: float             # training-set loss in evaluation mode, last evaluation
    loss_step: int
    landscape: dict              # probe name -> median over the measurements
    plateau_records: int         # landscape measurements taken while the loss sat on its start
    input_jitter: float          # mean |change| of a layer input's mean between probes

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def plateau_share(self) -> float:
        return self.plateau_records / self.ics_records if self.ics_records else math.nan


def plateau_records(probes: dict, ics_steps, fraction: float = PLATEAU_FRACTION) -> int:
    """How many of the measurement steps fell while the net's training loss (its latest probe
    at or before the step) was still above `fraction` times its first recorded loss: a net
    that has not yet left its starting plateau, where any landscape looks flat."""
    losses = np.asarray(probes.get("loss", []), np.float64)
    steps = np.asarray(probes.get("step", []), np.int64)
    ok = np.isfinite(losses)
    if not ok.any():
        return 0
    losses, steps = losses[ok], steps[ok]
    first, count = losses[0], 0
    for step in np.asarray(ics_steps, np.int64):
        i = int(np.searchsorted(steps, step, side="right")) - 1
        if i >= 0 and losses[i] > fraction * first:
            count += 1
    return count


def shift_summary(view) -> ShiftSummary:
    """Summarise a NetView's ICS, loss and landscape records."""
    ics, probes, evals = view.ics, view.probes, view.evals
    n = len(ics.get("step", ()))
    if n:
        cos, dist = np.asarray(ics["cos"], np.float64), np.asarray(ics["dist"], np.float64)
        cos_layer = np.array([_finite_mean(cos[:, j]) for j in range(cos.shape[1])])
        dist_layer = np.array([_finite_mean(dist[:, j]) for j in range(dist.shape[1])])
        mean_cos, mean_dist = _finite_mean(cos[:, 1:]), _finite_mean(dist[:, 1:])
        scape = {k: _finite_median(ics[k]) if k in ics else math.nan for k in LANDSCAPE_PROBES}
        on_plateau = plateau_records(probes, ics["step"])
    else:
        cos_layer = dist_layer = np.array([])
        mean_cos = mean_dist = math.nan
        scape = {k: math.nan for k in LANDSCAPE_PROBES}
        on_plateau = 0
    losses = np.asarray(probes.get("loss", np.array([])), np.float64)
    steps = probes.get("step", np.array([], np.int64))
    finite = np.isfinite(losses)
    first = float(losses[finite][0]) if finite.any() else math.nan
    last = float(losses[finite][-1]) if finite.any() else math.nan
    loss_step = int(steps[finite][-1]) if finite.any() else 0
    return ShiftSummary(name=view.name, label=view.label, status=view.status,
                        diverged_at=view.diverged_at, ics_records=n, mean_cos=mean_cos,
                        mean_dist=mean_dist, cos_by_layer=cos_layer, dist_by_layer=dist_layer,
                        first_loss=first, last_loss=last,
                        last_acc=_last_finite(evals.get("train_acc", [])),
                        eval_loss=_last_finite(evals.get("train_loss", [])),
                        loss_step=loss_step, landscape=scape, plateau_records=on_plateau,
                        input_jitter=input_jitter(probes))


def input_jitter(probes: dict) -> float:
    """How much the hidden layers' input distributions move from one probe to the next: the
    mean over layers and consecutive probes of |change of the layer input's mean|."""
    means = np.asarray(probes.get("mean", np.empty((0, 0))), np.float64)
    if means.ndim != 2 or means.shape[0] < 2:
        return math.nan
    return _finite_mean(np.abs(np.diff(means, axis=0)))


# ---------------------------------------------------------------------------- verdicts

def ics_verdicts(bn: ShiftSummary, plain: ShiftSummary) -> dict[str, str]:
    """Per ICS measure, whether BN's gradients shifted "more", "less" or "same" as the plain
    net's (measures that could not be computed are left out)."""
    out = {}
    if math.isfinite(bn.mean_cos) and math.isfinite(plain.mean_cos):
        diff = bn.mean_cos - plain.mean_cos  # a lower cosine is more shift
        out["cos"] = "more" if diff < -COS_TOLERANCE else "less" if diff > COS_TOLERANCE \
            else "same"
    if math.isfinite(bn.mean_dist) and math.isfinite(plain.mean_dist) and plain.mean_dist > 0:
        ratio = bn.mean_dist / plain.mean_dist
        out["dist"] = "more" if ratio > 1 + DIST_TOLERANCE else "less" \
            if ratio < 1 - DIST_TOLERANCE else "same"
    return out


def ics_reduced(verdicts: dict[str, str]) -> bool | None:
    """Did BN reduce ICS? True if some measure says less and none more; False if none says
    less; None when the measures disagree (one less, one more)."""
    values = set(verdicts.values())
    if not values:
        return None
    if "less" in values and "more" in values:
        return None
    return "less" in values


def probe_verdicts(bn: ShiftSummary, plain: ShiftSummary) -> dict[str, tuple[float, float, str]]:
    """Per landscape probe: (BN median, plain median, "lower" | "higher" | "same" for BN)."""
    out = {}
    for k in LANDSCAPE_PROBES:
        b, p = bn.landscape.get(k, math.nan), plain.landscape.get(k, math.nan)
        if not (math.isfinite(b) and math.isfinite(p)) or p <= 0:
            continue
        ratio = b / p
        out[k] = (b, p, "lower" if ratio < 1 - PROBE_TOLERANCE else "higher"
                  if ratio > 1 + PROBE_TOLERANCE else "same")
    return out


def _times(a: float, b: float) -> str:
    """How many times larger a is than b, in words (a >= b > 0)."""
    return f"{a / b:.1f}x" if b > 0 else "far"


def _loss_words(s: ShiftSummary, classification: bool) -> str:
    if s.diverged:
        return f"diverged at step {s.diverged_at}"
    text = f"training loss {s.last_loss:.3g}"
    if classification and math.isfinite(s.last_acc):
        text += f" (training accuracy {s.last_acc:.2f})"
    return text


# ---------------------------------------------------------------------------- sentences

def ics_sentence(bn: ShiftSummary, plain: ShiftSummary) -> tuple[str, bool | None]:
    """The ICS comparison, one verdict per measure, and whether BN reduced ICS overall."""
    verdicts = ics_verdicts(bn, plain)
    if not verdicts:
        return ("A net diverged before its internal covariate shift could be measured.", None)
    cos_words = {"more": "BN's gradients shifted **more**", "less": "BN's gradients shifted less",
                 "same": "about the same"}
    parts = []
    if "cos" in verdicts:
        parts.append(f"In this run BN's mean cos(G, G') was **{bn.mean_cos:.2f}** vs plain "
                     f"**{plain.mean_cos:.2f}** (1 = a layer's gradient did not change when the "
                     f"layers below it were updated): by the cosine, {cos_words[verdicts['cos']]}")
    if "dist" in verdicts:
        parts.append(f"by the distance ||G - G'|| (0 = no shift) BN measured {bn.mean_dist:.3g} "
                     f"vs plain {plain.mean_dist:.3g}: {cos_words[verdicts['dist']]}"
                     + (f" (within {DIST_TOLERANCE:.0%})" if verdicts["dist"] == "same" else ""))
    reduced = ics_reduced(verdicts)
    values = set(verdicts.values())
    if reduced is None:
        verdict = ("**the two measures disagree**: this run cannot say whether BN reduced "
                   "internal covariate shift.")
    elif reduced:
        verdict = ("**here BN did reduce internal covariate shift**"
                   + (" by both measures." if values == {"less"} else
                      " by one measure and left the other about the same."))
    elif values == {"same"}:
        verdict = "**BN left internal covariate shift about where it was** by both measures."
    else:
        how = ("by both measures" if values == {"more"} else
               "by " + ("the cosine" if verdicts.get("cos") == "more" else "the distance")
               + ", the other about the same")
        verdict = f"**BN did NOT reduce internal covariate shift; it increased it** ({how})."
    return "; ".join(parts) + ". So " + verdict, reduced


def training_sentence(bn: ShiftSummary, plain: ShiftSummary, classification: bool,
                      ics_was_reduced: bool | None) -> tuple[str, bool]:
    """Which net trained better, and whether BN did."""
    if plain.diverged and not bn.diverged:
        return (f"The plain net **diverged at step {plain.diverged_at}**; BN reached "
                f"{_loss_words(bn, classification)} with the same learning rate.", True)
    if bn.diverged:
        return (f"BN **diverged at step {bn.diverged_at}** (plain: "
                f"{_loss_words(plain, classification)}): lower the learning rate.", False)
    ratio = bn.last_loss / plain.last_loss if plain.last_loss > 0 else math.nan
    bn_better = bool(ratio < 1.0 - ABOUT_EQUAL)
    how = ("much better" if ratio < MUCH_BETTER else "a little better" if bn_better
           else "about as well as the plain net" if ratio <= 1.0 + ABOUT_EQUAL else "worse")
    joiner = "Yet" if ics_was_reduced is False and bn_better else "And"
    return (f"{joiner} BN trained **{how}**: at step {bn.loss_step:,} BN had "
            f"{_loss_words(bn, classification)} and plain had {_loss_words(plain, classification)}"
            " (loss in training mode, as each net sees it while it learns).", bn_better)


def noisy_bn_sentences(nb: ShiftSummary, bn: ShiftSummary, plain: ShiftSummary,
                       classification: bool, depth: int | None = None) -> list[str]:
    """How noisy BN trained, what its "less stable distributions" measure is, and why its
    evaluation loss can be far above its training loss."""
    if nb.diverged:
        return [f"Noisy BN diverged at step {nb.diverged_at}."]
    vs_bn = ("about as well as BN" if nb.last_loss <= max(1.25 * bn.last_loss, bn.last_loss + 0.02)
             else "worse than BN")
    vs_plain = ("better than the plain net" if plain.diverged or nb.last_loss < plain.last_loss
                else "no better than the plain net")
    cos = f", mean cos(G, G') {nb.mean_cos:.2f}" if math.isfinite(nb.mean_cos) else ""
    out = [f"**Noisy BN** (BN, then a random shift and scale of every layer input, new at every "
           f"step) trained {vs_bn} and {vs_plain}: {_loss_words(nb, classification)}{cos}."]
    if math.isfinite(nb.input_jitter) and math.isfinite(plain.input_jitter):
        more = nb.input_jitter > plain.input_jitter
        out.append(
            f"Its layer inputs' means moved by {nb.input_jitter:.3g} from one probe to the next "
            f"on average, vs {plain.input_jitter:.3g} for the plain net: "
            f"**{'less' if more else 'more'} stable** distributions. That number is mostly the "
            f"injected noise itself: the noise's shift mu_t ~ U({NOISE_MEAN_RANGE[0]:g}, "
            f"{NOISE_MEAN_RANGE[1]:g}) is drawn afresh, and alone moves a mean by "
            f"{NOISE_MEAN_JUMP:.2f} on average between two probes. That is the point of "
            "Santurkar et al.'s experiment: they made the layer inputs unstable on purpose, "
            + ("and the net still trains." if vs_plain.startswith("better") else
               "to see whether the net still trains.")
            if more else
            f"Its layer inputs' means moved by {nb.input_jitter:.3g} from one probe to the next "
            f"on average, vs {plain.input_jitter:.3g} for the plain net: in this run noisy BN's "
            "distributions were not less stable than the plain net's, although its injected "
            f"noise alone moves a mean by {NOISE_MEAN_JUMP:.2f} on average between probes.")
    if (math.isfinite(nb.eval_loss) and math.isfinite(nb.last_loss) and nb.last_loss > 0
            and nb.eval_loss > EVAL_GAP * nb.last_loss):
        layers = f"its {depth} BN layers" if depth else "its BN layers"
        out.append(
            f"Evaluated (noise off, running statistics), noisy BN's training-set loss was "
            f"**{nb.eval_loss:.3g}**, against {nb.last_loss:.3g} while it trained (noise on) and "
            f"{bn.eval_loss:.3g} for BN: {_times(nb.eval_loss, nb.last_loss)} worse. Why: in "
            f"evaluation the noise is switched off, but each BN layer still normalises with "
            f"running statistics gathered *with* the noise, which scaled every layer's output by "
            f"sigma_t ~ U({NOISE_SCALE_RANGE[0]:g}, {NOISE_SCALE_RANGE[1]:g}), "
            f"{NOISE_MEAN_SCALE:g} on average; without it every layer's input is smaller than "
            f"its statistics expect, and through {layers} the mismatch compounds."
            + (" And while it trains, the noise after the last hidden layer passes into the "
               "regression output through one linear layer, with no BN after it to take it "
               "out: it adds to the squared error at every step." if not classification else ""))
    return out


def landscape_sentences(bn: ShiftSummary, plain: ShiftSummary) -> list[str]:
    """One verdict per landscape probe (BN vs plain medians), and a caveat for a net that sat
    on its starting plateau during the measurements."""
    verdicts = probe_verdicts(bn, plain)
    if not verdicts:
        return []
    lo, hi = min(LANDSCAPE_STEP_SIZES), max(LANDSCAPE_STEP_SIZES)
    parts = []
    for k, (b, p, how) in verdicts.items():
        if how == "lower":
            judged = f"BN's {_times(p, b)} lower" + (": **smoother**" if k != "beta_smoothness"
                                                      else ": **smoother** by this measure too")
        elif how == "higher":
            judged = f"**not lower with BN** ({_times(b, p)} higher)"
        else:
            judged = f"about the same (within {PROBE_TOLERANCE:.0%})"
        parts.append(f"{PROBE_WORDS[k]} **{b:.3g}** with BN vs **{p:.3g}** plain: {judged}")
    lower = [PROBE_NAMES[k] for k, v in verdicts.items() if v[2] == "lower"]
    other = [PROBE_NAMES[k] for k, v in verdicts.items() if v[2] != "lower"]
    n = min(bn.ics_records, plain.ics_records)
    summary = ("So by every probe BN's landscape was smoother here, as Santurkar et al. found."
               if not other else
               "So by no probe was BN's landscape smoother here." if not lower else
               f"So BN's landscape was smoother by the {' and the '.join(lower)}, but not by the "
               f"{' and the '.join(other)}: Santurkar et al. found all three lower with BN (in "
               "a VGG net); this run agrees on " + ("one" if len(lower) == 1 else "two")
               + " of them.")
    out = [f"Moving along the gradient by {lo:g} to {hi:g} times the learning rate (medians over "
           f"{n} measurements): " + "; ".join(parts) + ". " + summary]
    for s in (plain, bn):
        if s.ics_records and s.plateau_share > PLATEAU_SHARE and not s.diverged:
            out.append(
                f"Careful: at {s.plateau_records} of the {s.ics_records} measurements the "
                f"{s.label} net's training loss was still above {PLATEAU_FRACTION:g}x its "
                f"starting value ({s.first_loss:.3g}): a net that has not left its plateau sees "
                "a flat landscape, so these probes say little about it. Try a larger learning "
                "rate or more steps.")
    return out


def conclusions(nets: dict, classification: bool, min_records: int = 2,
                depth: int | None = None) -> list[str]:
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
    sentence, reduced = ics_sentence(bn, plain)
    if reduced is None and not ics_verdicts(bn, plain):
        sentence = ("A net diverged before its internal covariate shift could be measured: "
                    f"plain {_loss_words(plain, classification)}, BN "
                    f"{_loss_words(bn, classification)}.")
        reduced = False
    out.append(sentence)
    sentence, bn_better = training_sentence(bn, plain, classification, reduced)
    out.append(sentence)
    if "noisy_bn" in s:
        out += noisy_bn_sentences(s["noisy_bn"], bn, plain, classification, depth)
    if "noisy_plain" in s:
        npl = s["noisy_plain"]
        out.append(f"The same noise in the **plain net** gave {_loss_words(npl, classification)}"
                   f" (plain without noise: {_loss_words(plain, classification)}).")
    out += landscape_sentences(bn, plain)
    if reduced is False and bn_better:
        out.append("**So BN's advantage here did not come from reducing internal covariate "
                   "shift** as measured by gradients: Santurkar et al.'s conclusion.")
    elif reduced and bn_better:
        out.append("Here BN both reduced gradient-measured ICS and trained better: the 2015 "
                   "story fits this run. Try the deep linear setup, or a larger learning rate.")
    elif reduced is None and bn_better:
        out.append("BN trained better, but the two ICS measures disagree, so this run neither "
                   "supports nor refutes the ICS explanation: try more steps or another seed.")
    elif not bn_better:
        out.append("BN did not help in this run, so it says little about why BN helps: try "
                   "more steps or a larger learning rate.")
    return out


# ---------------------------------------------------------------------------- page text

def ics_look_for(summaries: dict) -> str | None:
    """The "What to look for" text beside the ICS charts (None before any measurement)."""
    measured = [s for s in summaries.values() if s.ics_records]
    if not measured:
        return None
    line = ", ".join(f"**{s.label}** {s.mean_cos:.2f}" for s in measured)
    dist = ", ".join(f"{s.label} {s.mean_dist:.3g}" for s in measured)
    return (f"**What to look for.** Mean cos(G, G') over layers 2 and up, from "
            f"{max(s.ics_records for s in measured)} measurements so far: {line} (mean "
            f"||G - G'||: {dist}). The closer the cosine to 1, the less the updates of the lower "
            "layers changed this layer's gradient (layer 1 has nothing below it: always 1). If BN "
            "reduced internal covariate shift, its cosine line would sit *above* the plain "
            "net's and its ||G - G'|| *below*; the two measures can disagree, so the conclusions "
            "judge each.")


def training_look_for(summaries: dict, regression: bool) -> str:
    """The "What to look for" text beside the training curves."""
    parts = []
    for s in summaries.values():
        if s.diverged:
            parts.append(f"**{s.label}** diverged at step {s.diverged_at}")
        elif math.isfinite(s.last_loss):
            acc = ("" if regression or not math.isfinite(s.last_acc)
                   else f", training accuracy {s.last_acc:.2f}")
            parts.append(f"**{s.label}** loss {s.last_loss:.3g}{acc}")
    return ("**What to look for.** Whether the net with *more* internal covariate shift trains "
            "*faster*. Latest: " + ("; ".join(parts) or "no probe yet") + ". The loss is the "
            "training-mode loss each net descends (noise on for the noisy nets), averaged since "
            "the previous probe.")


def landscape_explainer() -> str:
    """What the landscape probes do, with the step sizes the engine uses."""
    lo, hi = min(LANDSCAPE_STEP_SIZES), max(LANDSCAPE_STEP_SIZES)
    sizes = ", ".join(f"{s:g}" for s in LANDSCAPE_STEP_SIZES)
    return (f"At each ICS measurement BN Lab steps from the current weights along the gradient "
            f"by {sizes} times the learning rate (from {lo:g} of an SGD update to {hi:g}, the "
            "reach of Santurkar et al.'s Fig. 4) and records how much the loss varies over "
            "those steps (left), how much the gradient changes (middle), and that change per "
            "unit of distance moved (right). Santurkar et al. found all three lower with BN. "
            "On this page's MNIST default, on every seed tried (0-2), BN's loss range and "
            "gradient change were lower but its effective beta-smoothness was higher "
            "(docs/claims.md, T13b-c). The conclusions below compare each one's median over "
            "this run.")
