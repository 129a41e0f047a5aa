"""The short texts beside each chart of the "Does BN really reduce internal covariate shift?"
lesson, written from the run (bn_core.lessons.santurkar's summaries and verdicts): what to look
for, what this run shows so far, one thing to try. The long conclusions stay in
`santurkar.conclusions`. Pure functions; no UI."""
from __future__ import annotations

import math

from bn_core.lessons.santurkar import (
    ABOUT_EQUAL,
    LANDSCAPE_PROBES,
    PROBE_NAMES,
    ShiftSummary,
    ics_verdicts,
    probe_verdicts,
)
from bn_core.i18n import N_, _
from bn_core.nets.zones import LANDSCAPE_STEP_SIZES

SETUP_LABELS = {"mnist-sigmoid": N_("MNIST: the BN paper's net"),
                "deep-linear": N_("Deep linear net, 25 layers")}
METRIC_LABELS = {"cos": "cos(G, G')", "dist": "||G - G'||"}
# One whole sentence per verdict (translated as a sentence, never pieced together).
SHIFT_SENTENCES = {"more": N_("So far BN's gradients shift **more** than the plain net's."),
                   "less": N_("So far BN's gradients shift **less** than the plain net's."),
                   "same": N_("So far BN's gradients shift about as much as the plain net's.")}


def setup_caption(setup: str, config) -> str:
    """What the chosen setup trains, from its config (shown under the setup's settings)."""
    if config.dataset == "deep-linear":
        return _("{layers} linear layers of width {width} (no nonlinearity) learn y = A x for a "
                 "random 10 x 10 matrix A: mean squared error, full-batch gradient descent on "
                 "{batch} examples, learning rate {lr:g}. Its ICS measurements are costly: the "
                 "run fills in slowly.").format(layers=config.depth + 1, width=config.width,
                                                batch=config.batch_size, lr=config.lr)
    return _("{depth} hidden layers of {width} {activation} units, batches of {batch} from the "
             "bundled 4,000-digit MNIST subset, SGD at learning rate {lr:g}.").format(
                 depth=config.depth, width=config.width, activation=config.activation,
                 batch=config.batch_size, lr=config.lr)


def _mean(s: ShiftSummary, metric: str) -> float:
    return s.mean_cos if metric == "cos" else s.mean_dist


def _shown(value: float, metric: str) -> str:
    return f"{value:.2f}" if metric == "cos" else f"{value:.3g}"


def ics_layer_look_for(summaries: dict, metric: str) -> str | None:
    """Beside ICS per layer: each net's mean over layers 2 and up, and whether BN's gradients
    shifted more or less than the plain net's by this measure (None before a measurement)."""
    measured = [s for s in summaries.values() if s.ics_records]
    if not measured:
        return None
    name = METRIC_LABELS[metric]
    values = ", ".join(f"{_(s.label)} **{_shown(_mean(s, metric), metric)}**" for s in measured)
    none = "1" if metric == "cos" else "0"
    text = _("**Look for:** {name} = {none} means the updates of the layers below left a "
             "layer's gradient as it was (layer 1 has nothing below it). Mean of layers 2 and "
             "up, {count} measurements so far: {values}.").format(
                 name=name, none=none, count=max(s.ics_records for s in measured), values=values)
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is not None and bn is not None:
        verdict = ics_verdicts(bn, plain).get(metric)
        if verdict:
            text += "\n\n" + _(SHIFT_SENTENCES[verdict])
    other = METRIC_LABELS["dist" if metric == "cos" else "cos"]
    return text + "\n\n" + _("**Try:** show {other} in the sidebar: the two measures can "
                              "disagree.").format(other=other)


def ics_time_look_for(summaries: dict, metric: str, ics_every: int) -> str | None:
    """Beside ICS over training: where BN's line runs compared with the plain net's."""
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is None or bn is None or not (plain.ics_records and bn.ics_records):
        return None
    verdict = ics_verdicts(bn, plain).get(metric)
    head = _("One point per measurement (every {every} steps): {metric} of each net, averaged "
             "over layers 2 and up.").format(every=ics_every, metric=METRIC_LABELS[metric])
    if metric == "cos":
        where = {"less": N_("If BN reduced internal covariate shift its line would run above "
                            "the plain net's; here it does, on average."),
                 "more": N_("If BN reduced internal covariate shift its line would run above "
                            "the plain net's; here it does not: on average it runs on the "
                            "other side."),
                 "same": N_("If BN reduced internal covariate shift its line would run above "
                            "the plain net's; here on average the two are level.")}.get(
                     verdict, N_("If BN reduced internal covariate shift its line would run "
                                 "above the plain net's; here not measured."))
    else:
        where = {"less": N_("If BN reduced internal covariate shift its line would run below "
                            "the plain net's; here it does, on average."),
                 "more": N_("If BN reduced internal covariate shift its line would run below "
                            "the plain net's; here it does not: on average it runs on the "
                            "other side."),
                 "same": N_("If BN reduced internal covariate shift its line would run below "
                            "the plain net's; here on average the two are level.")}.get(
                     verdict, N_("If BN reduced internal covariate shift its line would run "
                                 "below the plain net's; here not measured."))
    return (head + " " + _(where) + "\n\n"
            + _("**Try:** a larger learning rate (bigger updates below, more shift)."))


def training_look_for(summaries: dict, regression: bool) -> str:
    """Under the training curves: each net's latest loss (and accuracy), and which trained
    better, BN or plain."""
    parts = []
    for s in summaries.values():
        if s.diverged:
            parts.append(_("{net} diverged at step {step}").format(net=_(s.label),
                                                                    step=s.diverged_at))
        elif math.isfinite(s.last_loss):
            if regression or not math.isfinite(s.last_acc):
                parts.append(_("{net} loss **{loss:.3g}**").format(net=_(s.label),
                                                                   loss=s.last_loss))
            else:
                parts.append(_("{net} loss **{loss:.3g}** (accuracy {acc:.2f})").format(
                    net=_(s.label), loss=s.last_loss, acc=s.last_acc))
    if not parts:
        return _("No loss recorded yet.")
    text = _("**Latest:** {parts}.").format(parts=_("; ").join(parts))
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is not None and bn is not None and math.isfinite(plain.last_loss) \
            and math.isfinite(bn.last_loss) and not (plain.diverged or bn.diverged):
        ratio = bn.last_loss / plain.last_loss if plain.last_loss > 0 else math.nan
        text += " " + (_("BN's loss is lower than the plain net's so far.")
                       if ratio < 1 - ABOUT_EQUAL else
                       _("BN's loss is higher than the plain net's so far.")
                       if ratio > 1 + ABOUT_EQUAL else
                       _("BN's loss is about the same as the plain net's so far."))
    return text + " " + _("Does the net whose gradients shift more train worse? Compare with "
                          "the ICS steps.")


def landscape_look_for(summaries: dict) -> str:
    """Beside the landscape probes: what they measure, and per probe whether BN's median is
    lower than the plain net's so far."""
    lo, hi = min(LANDSCAPE_STEP_SIZES), max(LANDSCAPE_STEP_SIZES)
    text = _("At each measurement BN Lab steps along the gradient by {lo:g} to {hi:g} times "
             "the learning rate and records the loss's range, the gradient's largest change, "
             "and that change per distance moved. Lower = smoother; Santurkar et al. found all "
             "three lower with BN.").format(lo=lo, hi=hi)
    plain, bn = summaries.get("plain"), summaries.get("bn")
    verdicts = probe_verdicts(bn, plain) if plain is not None and bn is not None else {}
    if verdicts:
        words = {"lower": N_("{probe} lower with BN ({bn:.3g} vs {plain:.3g})"),
                 "higher": N_("{probe} higher with BN ({bn:.3g} vs {plain:.3g})"),
                 "same": N_("{probe} about the same ({bn:.3g} vs {plain:.3g})")}
        text += "\n\n" + _("**This run** (medians so far): {probes}.").format(probes=_("; ").join(
            _(words[v[2]]).format(probe=_(PROBE_NAMES[k]), bn=v[0], plain=v[1])
            for k, v in verdicts.items() if k in LANDSCAPE_PROBES))
    return text
