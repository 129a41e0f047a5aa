"""Questions a teacher can put to the class before a run: each names its lesson page, the
settings that answer it (URL parameters) and how the answer is read off the run. The answer
shown after the reveal is always measured on the run on screen, never written in advance:
`measure(snapshot)` returns (choice index, the measured reason) or None while the run has not
shown it yet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bn_core.i18n import N_, _


@dataclass(frozen=True)
class Question:
    """`text` and `choices` are English, marked with N_ and shown translated; `measure`
    returns its reason in the current language."""

    id: str
    page: str
    text: str
    choices: tuple
    measure: Callable
    settings: dict = field(default_factory=dict)


def _last(view, metric: str) -> float:
    values = view.evals.get(metric)
    return float(values[-1]) if values is not None and len(values) else math.nan


def _at(view, metric: str, step: int) -> float | None:
    steps, values = view.evals.get("step"), view.evals.get(metric)
    if steps is None or not len(steps) or steps[-1] < step:
        return None
    return float(values[int(np.searchsorted(steps, step))])


def _done(snap) -> bool:
    return bool(snap.nets) and all(v.status != "training" for v in snap.nets.values())


def _learns(view, threshold: float, metric: str = "heldout_acc") -> bool:
    return view.status != "diverged" and _last(view, metric) >= threshold


def _which_learn(snap, threshold: float, metric: str = "heldout_acc"):
    """Choices plain / BN / both / neither, from which nets end at or above `threshold`."""
    if not _done(snap) or not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = (_learns(snap.nets[n], threshold, metric) for n in ("plain", "bn"))
    index = {(True, False): 0, (False, True): 1, (True, True): 2, (False, False): 3}[(p, b)]
    return index, _("held-out accuracy at the end: plain {plain:.0%}, BN {bn:.0%} (threshold "
                    "{threshold:.0%})").format(plain=_last(snap.nets['plain'], metric),
                                               bn=_last(snap.nets['bn'], metric),
                                               threshold=threshold)


WHICH = (N_("only the plain net"), N_("only the BN net"), N_("both"), N_("neither"))


def ahead_early(snap, step: int = 300):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = _at(snap.nets["plain"], "heldout_acc", step), _at(snap.nets["bn"], "heldout_acc", step)
    if p is None or b is None:
        return None
    index = 2 if abs(p - b) < 0.02 else (1 if b > p else 0)
    return index, _("at step {step}: plain {plain:.0%}, BN {bn:.0%} held-out accuracy").format(
        step=step, plain=p, bn=b)


def diverges(snap):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = (snap.nets[n].status == "diverged" for n in ("plain", "bn"))
    if not (p and b) and not _done(snap):
        return None
    index = {(True, False): 0, (False, True): 1, (True, True): 2, (False, False): 3}[(p, b)]
    words = _(", ").join(_("{net}: {status}").format(net=_(snap.nets[n].label),
                                                      status=_status(snap.nets[n]))
                         for n in ("plain", "bn"))
    return index, words


# A net's statuses (bn_core/engine/records.py), marked for translation.
NET_STATUSES = (N_("training"), N_("finished"), N_("stopped"), N_("failed"))


def _status(view) -> str:
    if view.status == "diverged":
        return _("diverged at step {step}").format(step=view.diverged_at)
    return _(view.status)


def variance_grows(snap):
    plain = snap.nets.get("plain")
    if plain is None or not _done(snap) or "var" not in plain.probes:
        return None
    var = plain.probes["var"][:, -1]
    ratio = float(var[-1] / var[0]) if var[0] > 0 else math.inf
    return (0 if ratio > 2 else 1), _("the plain net's top-layer input variance went from "
                                      "{start:.3g} to {end:.3g} ({ratio:.1f} times)").format(
                                          start=var[0], end=var[-1], ratio=ratio)


def bn_reduces_ics(snap):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    cos = {n: snap.nets[n].ics.get("cos") for n in ("plain", "bn")}
    if any(c is None or len(c) < 3 for c in cos.values()):
        return None
    med = {n: float(np.nanmedian(c[:, -1])) for n, c in cos.items()}
    return (0 if med["bn"] > med["plain"] else 1), _(
        "median cosine of G and G' at the top layer: plain {plain:.2f}, BN {bn:.2f} (1 = no "
        "shift)").format(plain=med['plain'], bn=med['bn'])


def test_accuracy_falls(snap):
    plain = snap.nets.get("plain")
    if plain is None or not _done(snap):
        return None
    train, test = _last(plain, "train_acc"), _last(plain, "test_acc")
    return (0 if test < train - 0.1 else 1), _("plain net: training data {train:.0%}, shifted "
                                                "test data {test:.0%}").format(train=train,
                                                                               test=test)


def first_to_fit(snap, target: float = 0.9):
    """Which net first gets `target` of the training points right (plain / BN / level)."""
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    hit = {}
    for n in ("plain", "bn"):
        ev = snap.nets[n].evals
        steps, acc = ev.get("step"), ev.get("train_acc")
        idx = np.nonzero(np.nan_to_num(acc, nan=-1.0) >= target)[0] if acc is not None else []
        hit[n] = int(steps[idx[0]]) if len(idx) else None
    values = dict(target=target, plain=hit["plain"], bn=hit["bn"])
    if hit["plain"] is None and hit["bn"] is None:
        return None if not _done(snap) else (
            2, _("neither reached {target:.0%} in this run").format(**values))
    if hit["plain"] is not None and hit["bn"] is not None and \
            abs(hit["plain"] - hit["bn"]) <= 20:
        return 2, _("both reached {target:.0%}: plain at step {plain:,}, BN at {bn:,}").format(
            **values)
    if hit["bn"] is not None and (hit["plain"] is None or hit["bn"] < hit["plain"]):
        if hit["plain"] is None and not _done(snap):
            return 1, _("BN reached {target:.0%} at step {bn:,}; plain has not yet").format(
                **values)
        if hit["plain"] is not None:
            return 1, _("BN reached {target:.0%} at step {bn:,}, plain at {plain:,}").format(
                **values)
        return 1, _("BN reached {target:.0%} at step {bn:,}, plain never").format(**values)
    if hit["bn"] is None and not _done(snap):
        return 0, _("plain reached {target:.0%} at step {plain:,}; BN has not yet").format(
            **values)
    if hit["bn"] is not None:
        return 0, _("plain reached {target:.0%} at step {plain:,}, BN at {bn:,}").format(
            **values)
    return 0, _("plain reached {target:.0%} at step {plain:,}, BN never").format(**values)


def keeps_up(snap, margin: float = 0.03):
    """Whether the BN net ends as well as the plain net (within `margin`) or clearly below it:
    "yes" / "no", from the held-out accuracy at the end of the run."""
    if not _done(snap) or not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = _last(snap.nets["plain"], "heldout_acc"), _last(snap.nets["bn"], "heldout_acc")
    if snap.nets["bn"].status == "diverged":
        return 1, _("the BN net diverged; the plain net ended at {plain:.0%} held-out "
                    "accuracy").format(plain=p)
    return (0 if b >= p - margin else 1), _("held-out accuracy at the end: plain {plain:.0%}, "
                                            "BN {bn:.0%}").format(plain=p, bn=b)


QUESTIONS: tuple[Question, ...] = (
    Question("home-first", "app.py",
             N_("Which net will first get 90% of the training points right?"),
             (N_("the plain net"), N_("the BN net"), N_("about the same time")), first_to_fit),
    Question("fig1-early", "pages/1_Figure_1_live.py",
             N_("After 300 steps, which net is ahead on held-out digits?"),
             (N_("the plain net"), N_("the BN net"), N_("about level (within 2 points)")),
             ahead_early),
    Question("shift-test", "pages/2_Covariate_shift.py",
             N_("The test data is shifted and rotated: does the plain net's test accuracy fall "
                "well below its training accuracy?"), (N_("yes, by more than 10 points"), N_("no")),
             test_accuracy_falls),
    Question("ics-variance", "pages/3_Internal_covariate_shift.py",
             N_("During training, will the plain net's top-layer input variance more than "
                "double?"),
             (N_("yes"), N_("no")), variance_grows),
    Question("gb-frozen", "pages/4_Gamma_and_beta.py",
             N_("gamma frozen at 0.5 and beta at 0: will the BN net end as accurate as the plain "
                "net on the two moons?"), (N_("yes, within 3 points"), N_("no, clearly below it")),
             keeps_up, settings={"affine": "frozen", "gamma": "0.5", "beta": "0",
                                 "data": "moons"}),
    Question("shuffle-sorted", "pages/5_Shuffling.py",
             N_("Batches sorted by class (shuffling 0): which net reaches 80% held-out "
                "accuracy?"),
             WHICH, lambda s: _which_learn(s, 0.8), settings={"shuffle": "0"}),
    Question("lr-x30", "pages/6_Gradients_and_learning_rates.py",
             N_("Learning rate x30: which net diverges?"), WHICH, diverges,
             settings={"lrx": "30"}),
    Question("santurkar-ics", "pages/8_Does_BN_reduce_ICS.py",
             N_("Does BN reduce internal covariate shift, measured as the change of a layer's "
                "gradient caused by the updates below it?"), (N_("yes"), N_("no")),
             bn_reduces_ics),
)


def for_page(page: str) -> list[Question]:
    return [q for q in QUESTIONS if q.page == page]


def by_id(question_id: str) -> Question | None:
    return next((q for q in QUESTIONS if q.id == question_id), None)
