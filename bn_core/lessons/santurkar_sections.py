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
from bn_core.nets.probes import LANDSCAPE_STEP_SIZES

SETUP_LABELS = {"mnist-sigmoid": "MNIST: the BN paper's net",
                "deep-linear": "Deep linear net, 25 layers"}
METRIC_LABELS = {"cos": "cos(G, G')", "dist": "||G - G'||"}
SHIFT_WORDS = {"more": "**more** than", "less": "**less** than", "same": "about as much as"}


def setup_caption(setup: str, config) -> str:
    """What the chosen setup trains, from its config (shown under the setup's settings)."""
    if config.dataset == "deep-linear":
        return (f"{config.depth + 1} linear layers of width {config.width} (no nonlinearity) "
                f"learn y = A x for a random 10 x 10 matrix A: mean squared error, full-batch "
                f"gradient descent on {config.batch_size} examples, learning rate "
                f"{config.lr:g}. Its ICS measurements are costly: the run fills in slowly.")
    return (f"{config.depth} hidden layers of {config.width} {config.activation} units, batches "
            f"of {config.batch_size} from the bundled 4,000-digit MNIST subset, SGD at learning "
            f"rate {config.lr:g}.")


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
    values = ", ".join(f"{s.label} **{_shown(_mean(s, metric), metric)}**" for s in measured)
    none = "1" if metric == "cos" else "0"
    text = (f"**Look for:** {name} = {none} means the updates of the layers below left a layer's "
            f"gradient as it was (layer 1 has nothing below it). Mean of layers 2 and up, "
            f"{max(s.ics_records for s in measured)} measurements so far: {values}.")
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is not None and bn is not None:
        verdict = ics_verdicts(bn, plain).get(metric)
        if verdict:
            text += f"\n\nSo far BN's gradients shift {SHIFT_WORDS[verdict]} the plain net's."
    other = METRIC_LABELS["dist" if metric == "cos" else "cos"]
    return text + f"\n\n**Try:** show {other} in the sidebar: the two measures can disagree."


def ics_time_look_for(summaries: dict, metric: str, ics_every: int) -> str | None:
    """Beside ICS over training: where BN's line runs compared with the plain net's."""
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is None or bn is None or not (plain.ics_records and bn.ics_records):
        return None
    better = "above" if metric == "cos" else "below"
    verdict = ics_verdicts(bn, plain).get(metric)
    where = {"less": "it does, on average", "more": "it does not: on average it runs on the "
             "other side", "same": "on average the two are level"}.get(verdict, "not measured")
    return (f"One point per measurement (every {ics_every} steps): {METRIC_LABELS[metric]} of "
            f"each net, averaged over layers 2 and up. If BN reduced internal covariate shift "
            f"its line would run {better} the plain net's; here {where}.\n\n"
            "**Try:** a larger learning rate (bigger updates below, more shift).")


def training_look_for(summaries: dict, regression: bool) -> str:
    """Under the training curves: each net's latest loss (and accuracy), and which trained
    better, BN or plain."""
    parts = []
    for s in summaries.values():
        if s.diverged:
            parts.append(f"{s.label} diverged at step {s.diverged_at}")
        elif math.isfinite(s.last_loss):
            acc = ("" if regression or not math.isfinite(s.last_acc)
                   else f" (accuracy {s.last_acc:.2f})")
            parts.append(f"{s.label} loss **{s.last_loss:.3g}**{acc}")
    if not parts:
        return "No loss recorded yet."
    text = "**Latest:** " + "; ".join(parts) + "."
    plain, bn = summaries.get("plain"), summaries.get("bn")
    if plain is not None and bn is not None and math.isfinite(plain.last_loss) \
            and math.isfinite(bn.last_loss) and not (plain.diverged or bn.diverged):
        ratio = bn.last_loss / plain.last_loss if plain.last_loss > 0 else math.nan
        how = ("lower than" if ratio < 1 - ABOUT_EQUAL else "higher than"
               if ratio > 1 + ABOUT_EQUAL else "about the same as")
        text += f" BN's loss is {how} the plain net's so far."
    return text + (" Does the net whose gradients shift more train worse? Compare with the "
                   "ICS steps.")


def landscape_look_for(summaries: dict) -> str:
    """Beside the landscape probes: what they measure, and per probe whether BN's median is
    lower than the plain net's so far."""
    lo, hi = min(LANDSCAPE_STEP_SIZES), max(LANDSCAPE_STEP_SIZES)
    text = (f"At each measurement BN Lab steps along the gradient by {lo:g} to {hi:g} times "
            "the learning rate and records the loss's range, the gradient's largest change, "
            "and that change per distance moved. Lower = smoother; Santurkar et al. found all "
            "three lower with BN.")
    plain, bn = summaries.get("plain"), summaries.get("bn")
    verdicts = probe_verdicts(bn, plain) if plain is not None and bn is not None else {}
    if verdicts:
        words = {"lower": "lower with BN", "higher": "higher with BN", "same": "about the same"}
        text += "\n\n**This run** (medians so far): " + "; ".join(
            f"{PROBE_NAMES[k]} {words[v[2]]} ({v[0]:.3g} vs {v[1]:.3g})"
            for k, v in verdicts.items() if k in LANDSCAPE_PROBES) + "."
    return text
