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

from bn_core.i18n import N_, _
from bn_core.nets.zones import LANDSCAPE_STEP_SIZES, NOISE_MEAN_RANGE, NOISE_SCALE_RANGE

COS_TOLERANCE = 0.02        # cosines closer than this count as "about the same"
DIST_TOLERANCE = 0.10       # ||G - G'|| within 10% of each other counts as "about the same"
MUCH_BETTER = 0.8           # a loss below 0.8x the other net's is "much" lower
ABOUT_EQUAL = 0.05          # losses within 5% of each other count as "about the same"
PROBE_TOLERANCE = 0.10      # landscape medians within 10% of each other: "about the same"
PLATEAU_FRACTION = 0.9      # a training loss above 0.9x its first value: still on its plateau
PLATEAU_SHARE = 1 / 3       # warn when more than this share of measurements fell on a plateau
EVAL_GAP = 1.5              # an evaluation loss 1.5x the training-mode loss needs explaining
LANDSCAPE_PROBES = ("loss_range", "grad_change", "beta_smoothness")
PROBE_NAMES = {"loss_range": N_("loss range"), "grad_change": N_("gradient change"),
               "beta_smoothness": N_("effective beta-smoothness")}
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
    return f"{a / b:.1f}x" if b > 0 else _("far")


def _loss_words(s: ShiftSummary, classification: bool) -> str:
    """A net's latest training loss (and accuracy), or where it diverged: a phrase that the
    sentences below name as {loss}."""
    if s.diverged:
        return _("diverged at step {step}").format(step=s.diverged_at)
    if classification and math.isfinite(s.last_acc):
        return _("training loss {loss:.3g} (training accuracy {acc:.2f})").format(
            loss=s.last_loss, acc=s.last_acc)
    return _("training loss {loss:.3g}").format(loss=s.last_loss)


# ---------------------------------------------------------------------------- sentences
# Each clause below is one message with named placeholders, its verdict written into it, so a
# translation never has to fit a translated fragment into a sentence.

COS_CLAUSES = {
    "more": N_("In this run BN's mean cos(G, G') was **{bn:.2f}** vs plain **{plain:.2f}** (1 = a "
               "layer's gradient did not change when the layers below it were updated): by the "
               "cosine, BN's gradients shifted **more**"),
    "less": N_("In this run BN's mean cos(G, G') was **{bn:.2f}** vs plain **{plain:.2f}** (1 = a "
               "layer's gradient did not change when the layers below it were updated): by the "
               "cosine, BN's gradients shifted less"),
    "same": N_("In this run BN's mean cos(G, G') was **{bn:.2f}** vs plain **{plain:.2f}** (1 = a "
               "layer's gradient did not change when the layers below it were updated): by the "
               "cosine, about the same"),
}
DIST_CLAUSES = {
    "more": N_("by the distance ||G - G'|| (0 = no shift) BN measured {bn:.3g} vs plain "
               "{plain:.3g}: BN's gradients shifted **more**"),
    "less": N_("by the distance ||G - G'|| (0 = no shift) BN measured {bn:.3g} vs plain "
               "{plain:.3g}: BN's gradients shifted less"),
    "same": N_("by the distance ||G - G'|| (0 = no shift) BN measured {bn:.3g} vs plain "
               "{plain:.3g}: about the same (within {tolerance:.0%})"),
}


def ics_sentence(bn: ShiftSummary, plain: ShiftSummary) -> tuple[str, bool | None]:
    """The ICS comparison, one verdict per measure, and whether BN reduced ICS overall."""
    verdicts = ics_verdicts(bn, plain)
    if not verdicts:
        return (_("A net diverged before its internal covariate shift could be measured."), None)
    parts = []
    if "cos" in verdicts:
        parts.append(_(COS_CLAUSES[verdicts["cos"]]).format(bn=bn.mean_cos, plain=plain.mean_cos))
    if "dist" in verdicts:
        parts.append(_(DIST_CLAUSES[verdicts["dist"]]).format(
            bn=bn.mean_dist, plain=plain.mean_dist, tolerance=DIST_TOLERANCE))
    reduced = ics_reduced(verdicts)
    values = set(verdicts.values())
    if reduced is None:
        verdict = _("So **the two measures disagree**: this run cannot say whether BN reduced "
                    "internal covariate shift.")
    elif reduced:
        verdict = (_("So **here BN did reduce internal covariate shift** by both measures.")
                   if values == {"less"} else
                   _("So **here BN did reduce internal covariate shift** by one measure and left "
                     "the other about the same."))
    elif values == {"same"}:
        verdict = _("So **BN left internal covariate shift about where it was** by both "
                    "measures.")
    elif values == {"more"}:
        verdict = _("So **BN did NOT reduce internal covariate shift; it increased it** (by both "
                    "measures).")
    elif verdicts.get("cos") == "more":
        verdict = _("So **BN did NOT reduce internal covariate shift; it increased it** (by the "
                    "cosine, the other about the same).")
    else:
        verdict = _("So **BN did NOT reduce internal covariate shift; it increased it** (by the "
                    "distance, the other about the same).")
    clauses = (_("{first}; {second}").format(first=parts[0], second=parts[1])
               if len(parts) == 2 else parts[0])
    return _("{clauses}. {verdict}").format(clauses=clauses, verdict=verdict), reduced


TRAINED = {
    ("Yet", "much better"): N_("Yet BN trained **much better**: at step {step:,} BN had {bn} and "
                               "plain had {plain} (loss in training mode, as each net sees it "
                               "while it learns)."),
    ("Yet", "a little better"): N_("Yet BN trained **a little better**: at step {step:,} BN had "
                                   "{bn} and plain had {plain} (loss in training mode, as each "
                                   "net sees it while it learns)."),
    ("And", "much better"): N_("And BN trained **much better**: at step {step:,} BN had {bn} and "
                               "plain had {plain} (loss in training mode, as each net sees it "
                               "while it learns)."),
    ("And", "a little better"): N_("And BN trained **a little better**: at step {step:,} BN had "
                                   "{bn} and plain had {plain} (loss in training mode, as each "
                                   "net sees it while it learns)."),
    ("And", "about as well as the plain net"): N_(
        "And BN trained **about as well as the plain net**: at step {step:,} BN had {bn} and "
        "plain had {plain} (loss in training mode, as each net sees it while it learns)."),
    ("And", "worse"): N_("And BN trained **worse**: at step {step:,} BN had {bn} and plain had "
                         "{plain} (loss in training mode, as each net sees it while it learns)."),
}


def training_sentence(bn: ShiftSummary, plain: ShiftSummary, classification: bool,
                      ics_was_reduced: bool | None) -> tuple[str, bool]:
    """Which net trained better, and whether BN did."""
    if plain.diverged and not bn.diverged:
        return (_("The plain net **diverged at step {step}**; BN reached {bn} with the same "
                  "learning rate.").format(step=plain.diverged_at,
                                           bn=_loss_words(bn, classification)), True)
    if bn.diverged:
        return (_("BN **diverged at step {step}** (plain: {plain}): lower the learning "
                  "rate.").format(step=bn.diverged_at, plain=_loss_words(plain, classification)),
                False)
    ratio = bn.last_loss / plain.last_loss if plain.last_loss > 0 else math.nan
    bn_better = bool(ratio < 1.0 - ABOUT_EQUAL)
    how = ("much better" if ratio < MUCH_BETTER else "a little better" if bn_better
           else "about as well as the plain net" if ratio <= 1.0 + ABOUT_EQUAL else "worse")
    joiner = "Yet" if ics_was_reduced is False and bn_better else "And"
    return (_(TRAINED[joiner, how]).format(step=bn.loss_step, bn=_loss_words(bn, classification),
                                           plain=_loss_words(plain, classification)), bn_better)


NOISY_TRAINED = {
    (True, True): N_("**Noisy BN** (BN, then a random shift and scale of every layer input, new "
                     "at every step) trained about as well as BN and better than the plain net: "
                     "{loss}{cos}."),
    (True, False): N_("**Noisy BN** (BN, then a random shift and scale of every layer input, new "
                      "at every step) trained about as well as BN and no better than the plain "
                      "net: {loss}{cos}."),
    (False, True): N_("**Noisy BN** (BN, then a random shift and scale of every layer input, new "
                      "at every step) trained worse than BN and better than the plain net: "
                      "{loss}{cos}."),
    (False, False): N_("**Noisy BN** (BN, then a random shift and scale of every layer input, "
                       "new at every step) trained worse than BN and no better than the plain "
                       "net: {loss}{cos}."),
}


def noisy_bn_sentences(nb: ShiftSummary, bn: ShiftSummary, plain: ShiftSummary,
                       classification: bool, depth: int | None = None) -> list[str]:
    """How noisy BN trained, what its "less stable distributions" measure is, and why its
    evaluation loss can be far above its training loss."""
    if nb.diverged:
        return [_("Noisy BN diverged at step {step}.").format(step=nb.diverged_at)]
    like_bn = nb.last_loss <= max(1.25 * bn.last_loss, bn.last_loss + 0.02)
    beats_plain = bool(plain.diverged or nb.last_loss < plain.last_loss)
    cos = (_(", mean cos(G, G') {cos:.2f}").format(cos=nb.mean_cos)
           if math.isfinite(nb.mean_cos) else "")
    out = [_(NOISY_TRAINED[like_bn, beats_plain]).format(loss=_loss_words(nb, classification),
                                                        cos=cos)]
    if math.isfinite(nb.input_jitter) and math.isfinite(plain.input_jitter):
        more = nb.input_jitter > plain.input_jitter
        slots = dict(noisy=nb.input_jitter, plain=plain.input_jitter, lo=NOISE_MEAN_RANGE[0],
                     hi=NOISE_MEAN_RANGE[1], jump=NOISE_MEAN_JUMP)
        if more and beats_plain:
            out.append(_(
                "Its layer inputs' means moved by {noisy:.3g} from one probe to the next on "
                "average, vs {plain:.3g} for the plain net: **less stable** distributions. That "
                "number is mostly the injected noise itself: the noise's shift mu_t ~ U({lo:g}, "
                "{hi:g}) is drawn afresh, and alone moves a mean by {jump:.2f} on average between "
                "two probes. That is the point of Santurkar et al.'s experiment: they made the "
                "layer inputs unstable on purpose, and the net still trains.").format(**slots))
        elif more:
            out.append(_(
                "Its layer inputs' means moved by {noisy:.3g} from one probe to the next on "
                "average, vs {plain:.3g} for the plain net: **less stable** distributions. That "
                "number is mostly the injected noise itself: the noise's shift mu_t ~ U({lo:g}, "
                "{hi:g}) is drawn afresh, and alone moves a mean by {jump:.2f} on average between "
                "two probes. That is the point of Santurkar et al.'s experiment: they made the "
                "layer inputs unstable on purpose, to see whether the net still "
                "trains.").format(**slots))
        else:
            out.append(_(
                "Its layer inputs' means moved by {noisy:.3g} from one probe to the next on "
                "average, vs {plain:.3g} for the plain net: in this run noisy BN's distributions "
                "were not less stable than the plain net's, although its injected noise alone "
                "moves a mean by {jump:.2f} on average between probes.").format(**slots))
    if (math.isfinite(nb.eval_loss) and math.isfinite(nb.last_loss) and nb.last_loss > 0
            and nb.eval_loss > EVAL_GAP * nb.last_loss):
        slots = dict(eval=nb.eval_loss, train=nb.last_loss, bn=bn.eval_loss,
                     times=_times(nb.eval_loss, nb.last_loss), lo=NOISE_SCALE_RANGE[0],
                     hi=NOISE_SCALE_RANGE[1], scale=NOISE_MEAN_SCALE, depth=depth)
        text = (_(
            "Evaluated (noise off, running statistics), noisy BN's training-set loss was "
            "**{eval:.3g}**, against {train:.3g} while it trained (noise on) and {bn:.3g} for BN: "
            "{times} worse. Why: in evaluation the noise is switched off, but each BN layer still "
            "normalises with running statistics gathered *with* the noise, which scaled every "
            "layer's output by sigma_t ~ U({lo:g}, {hi:g}), {scale:g} on average; without it "
            "every layer's input is smaller than its statistics expect, and through its {depth} "
            "BN layers the mismatch compounds.") if depth else _(
            "Evaluated (noise off, running statistics), noisy BN's training-set loss was "
            "**{eval:.3g}**, against {train:.3g} while it trained (noise on) and {bn:.3g} for BN: "
            "{times} worse. Why: in evaluation the noise is switched off, but each BN layer still "
            "normalises with running statistics gathered *with* the noise, which scaled every "
            "layer's output by sigma_t ~ U({lo:g}, {hi:g}), {scale:g} on average; without it "
            "every layer's input is smaller than its statistics expect, and through its BN "
            "layers the mismatch compounds.")).format(**slots)
        if not classification:
            text += " " + _("And while it trains, the noise after the last hidden layer passes "
                            "into the regression output through one linear layer, with no BN "
                            "after it to take it out: it adds to the squared error at every "
                            "step.")
        out.append(text)
    return out


PROBE_CLAUSES = {
    ("loss_range", "lower"): N_("the loss varied over a range of **{bn:.3g}** with BN vs "
                                "**{plain:.3g}** plain: BN's {times} lower: **smoother**"),
    ("grad_change", "lower"): N_("the gradient changed by at most **{bn:.3g}** with BN vs "
                                 "**{plain:.3g}** plain: BN's {times} lower: **smoother**"),
    ("beta_smoothness", "lower"): N_("the effective beta-smoothness was **{bn:.3g}** with BN vs "
                                     "**{plain:.3g}** plain: BN's {times} lower: **smoother** by "
                                     "this measure too"),
    ("loss_range", "higher"): N_("the loss varied over a range of **{bn:.3g}** with BN vs "
                                 "**{plain:.3g}** plain: **not lower with BN** ({times} higher)"),
    ("grad_change", "higher"): N_("the gradient changed by at most **{bn:.3g}** with BN vs "
                                  "**{plain:.3g}** plain: **not lower with BN** ({times} higher)"),
    ("beta_smoothness", "higher"): N_("the effective beta-smoothness was **{bn:.3g}** with BN vs "
                                      "**{plain:.3g}** plain: **not lower with BN** ({times} "
                                      "higher)"),
    ("loss_range", "same"): N_("the loss varied over a range of **{bn:.3g}** with BN vs "
                               "**{plain:.3g}** plain: about the same (within {tolerance:.0%})"),
    ("grad_change", "same"): N_("the gradient changed by at most **{bn:.3g}** with BN vs "
                                "**{plain:.3g}** plain: about the same (within {tolerance:.0%})"),
    ("beta_smoothness", "same"): N_("the effective beta-smoothness was **{bn:.3g}** with BN vs "
                                    "**{plain:.3g}** plain: about the same (within "
                                    "{tolerance:.0%})"),
}


def _names(keys) -> str:
    """Probe names as a list: "loss range", "loss range and the gradient change"."""
    names = [_(PROBE_NAMES[k]) for k in keys]
    if len(names) == 2:
        return _("{first} and the {second}").format(first=names[0], second=names[1])
    return ", ".join(names)


def landscape_sentences(bn: ShiftSummary, plain: ShiftSummary) -> list[str]:
    """One verdict per landscape probe (BN vs plain medians), and a caveat for a net that sat
    on its starting plateau during the measurements."""
    verdicts = probe_verdicts(bn, plain)
    if not verdicts:
        return []
    lo, hi = min(LANDSCAPE_STEP_SIZES), max(LANDSCAPE_STEP_SIZES)
    parts = []
    for k, (b, p, how) in verdicts.items():
        times = _times(p, b) if how == "lower" else _times(b, p) if how == "higher" else ""
        parts.append(_(PROBE_CLAUSES[k, how]).format(bn=b, plain=p, times=times,
                                                     tolerance=PROBE_TOLERANCE))
    lower = [k for k, v in verdicts.items() if v[2] == "lower"]
    other = [k for k, v in verdicts.items() if v[2] != "lower"]
    n = min(bn.ics_records, plain.ics_records)
    if not other:
        summary = _("So by every probe BN's landscape was smoother here, as Santurkar et al. "
                    "found.")
    elif not lower:
        summary = _("So by no probe was BN's landscape smoother here.")
    elif len(lower) == 1:
        summary = _("So BN's landscape was smoother by the {lower}, but not by the {other}: "
                    "Santurkar et al. found all three lower with BN (in a VGG net); this run "
                    "agrees on one of them.").format(lower=_names(lower), other=_names(other))
    else:
        summary = _("So BN's landscape was smoother by the {lower}, but not by the {other}: "
                    "Santurkar et al. found all three lower with BN (in a VGG net); this run "
                    "agrees on two of them.").format(lower=_names(lower), other=_names(other))
    out = [_("Moving along the gradient by {lo:g} to {hi:g} times the learning rate (medians "
             "over {n} measurements): {probes}. {summary}").format(
                 lo=lo, hi=hi, n=n, probes=_("; ").join(parts), summary=summary)]
    for s in (plain, bn):
        if s.ics_records and s.plateau_share > PLATEAU_SHARE and not s.diverged:
            out.append(_(
                "Careful: at {plateau} of the {measured} measurements the {net} net's training "
                "loss was still above {fraction:g}x its starting value ({first:.3g}): a net that "
                "has not left its plateau sees a flat landscape, so these probes say little about "
                "it. Try a larger learning rate or more steps.").format(
                    plateau=s.plateau_records, measured=s.ics_records, net=_(s.label),
                    fraction=PLATEAU_FRACTION, first=s.first_loss))
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
        sentence = _("A net diverged before its internal covariate shift could be measured: "
                     "plain {plain}, BN {bn}.").format(plain=_loss_words(plain, classification),
                                                      bn=_loss_words(bn, classification))
        reduced = False
    out.append(sentence)
    sentence, bn_better = training_sentence(bn, plain, classification, reduced)
    out.append(sentence)
    if "noisy_bn" in s:
        out += noisy_bn_sentences(s["noisy_bn"], bn, plain, classification, depth)
    if "noisy_plain" in s:
        npl = s["noisy_plain"]
        out.append(_("The same noise in the **plain net** gave {noisy} (plain without noise: "
                     "{plain}).").format(noisy=_loss_words(npl, classification),
                                         plain=_loss_words(plain, classification)))
    out += landscape_sentences(bn, plain)
    if reduced is False and bn_better:
        out.append(_("**So BN's advantage here did not come from reducing internal covariate "
                     "shift** as measured by gradients: Santurkar et al.'s conclusion."))
    elif reduced and bn_better:
        out.append(_("Here BN both reduced gradient-measured ICS and trained better: the 2015 "
                     "story fits this run. Try the deep linear setup, or a larger learning "
                     "rate."))
    elif reduced is None and bn_better:
        out.append(_("BN trained better, but the two ICS measures disagree, so this run neither "
                     "supports nor refutes the ICS explanation: try more steps or another "
                     "seed."))
    elif not bn_better:
        out.append(_("BN did not help in this run, so it says little about why BN helps: try "
                     "more steps or a larger learning rate."))
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
