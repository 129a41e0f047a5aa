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


@dataclass(frozen=True)
class Question:
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
    return index, (f"held-out accuracy at the end: plain {_last(snap.nets['plain'], metric):.0%}, "
                   f"BN {_last(snap.nets['bn'], metric):.0%} (threshold {threshold:.0%})")


WHICH = ("only the plain net", "only the BN net", "both", "neither")


def ahead_early(snap, step: int = 300):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = _at(snap.nets["plain"], "heldout_acc", step), _at(snap.nets["bn"], "heldout_acc", step)
    if p is None or b is None:
        return None
    index = 2 if abs(p - b) < 0.02 else (1 if b > p else 0)
    return index, f"at step {step}: plain {p:.0%}, BN {b:.0%} held-out accuracy"


def diverges(snap):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    p, b = (snap.nets[n].status == "diverged" for n in ("plain", "bn"))
    if not (p and b) and not _done(snap):
        return None
    index = {(True, False): 0, (False, True): 1, (True, True): 2, (False, False): 3}[(p, b)]
    words = ", ".join(f"{snap.nets[n].label}: {snap.nets[n].status_text}" for n in ("plain", "bn"))
    return index, words


def variance_grows(snap):
    plain = snap.nets.get("plain")
    if plain is None or not _done(snap) or "var" not in plain.probes:
        return None
    var = plain.probes["var"][:, -1]
    ratio = float(var[-1] / var[0]) if var[0] > 0 else math.inf
    return (0 if ratio > 2 else 1), (f"the plain net's top-layer input variance went from "
                                     f"{var[0]:.3g} to {var[-1]:.3g} ({ratio:.1f} times)")


def bn_reduces_ics(snap):
    if not {"plain", "bn"} <= set(snap.nets):
        return None
    cos = {n: snap.nets[n].ics.get("cos") for n in ("plain", "bn")}
    if any(c is None or len(c) < 3 for c in cos.values()):
        return None
    med = {n: float(np.nanmedian(c[:, -1])) for n, c in cos.items()}
    return (0 if med["bn"] > med["plain"] else 1), (
        f"median cosine of G and G' at the top layer: plain {med['plain']:.2f}, "
        f"BN {med['bn']:.2f} (1 = no shift)")


def test_accuracy_falls(snap):
    plain = snap.nets.get("plain")
    if plain is None or not _done(snap):
        return None
    train, test = _last(plain, "train_acc"), _last(plain, "test_acc")
    return (0 if test < train - 0.1 else 1), (f"plain net: training data {train:.0%}, shifted "
                                               f"test data {test:.0%}")


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
    if hit["plain"] is None and hit["bn"] is None:
        return None if not _done(snap) else (2, f"neither reached {target:.0%} in this run")
    if hit["plain"] is not None and hit["bn"] is not None and \
            abs(hit["plain"] - hit["bn"]) <= 20:
        return 2, f"both reached {target:.0%}: plain at step {hit['plain']:,}, BN at {hit['bn']:,}"
    if hit["bn"] is not None and (hit["plain"] is None or hit["bn"] < hit["plain"]):
        if hit["plain"] is None and not _done(snap):
            return 1, f"BN reached {target:.0%} at step {hit['bn']:,}; plain has not yet"
        return 1, f"BN reached {target:.0%} at step {hit['bn']:,}, plain " + (
            f"at {hit['plain']:,}" if hit["plain"] is not None else "never")
    if hit["bn"] is None and not _done(snap):
        return 0, f"plain reached {target:.0%} at step {hit['plain']:,}; BN has not yet"
    return 0, f"plain reached {target:.0%} at step {hit['plain']:,}, BN " + (
        f"at {hit['bn']:,}" if hit["bn"] is not None else "never")


QUESTIONS: tuple[Question, ...] = (
    Question("home-first", "app.py",
             "Which net will first get 90% of the training points right?",
             ("the plain net", "the BN net", "about the same time"), first_to_fit),
    Question("fig1-early", "pages/1_Figure_1_live.py",
             "After 300 steps, which net is ahead on held-out digits?",
             ("the plain net", "the BN net", "about level (within 2 points)"), ahead_early),
    Question("shift-test", "pages/2_Covariate_shift.py",
             "The test data is shifted and rotated: does the plain net's test accuracy fall "
             "well below its training accuracy?", ("yes, by more than 10 points", "no"),
             test_accuracy_falls),
    Question("ics-variance", "pages/3_Internal_covariate_shift.py",
             "During training, will the plain net's top-layer input variance more than double?",
             ("yes", "no"), variance_grows),
    Question("shuffle-sorted", "pages/5_Shuffling.py",
             "Batches sorted by class (shuffling 0): which net reaches 80% held-out accuracy?",
             WHICH, lambda s: _which_learn(s, 0.8), settings={"shuffle": "0"}),
    Question("lr-x30", "pages/6_Gradients_and_learning_rates.py",
             "Learning rate x30: which net diverges?", WHICH, diverges,
             settings={"lrx": "30"}),
    Question("santurkar-ics", "pages/8_Does_BN_reduce_ICS.py",
             "Does BN reduce internal covariate shift, measured as the change of a layer's "
             "gradient caused by the updates below it?", ("yes", "no"), bn_reduces_ics),
)


def for_page(page: str) -> list[Question]:
    return [q for q in QUESTIONS if q.page == page]


def by_id(question_id: str) -> Question | None:
    return next((q for q in QUESTIONS if q.id == question_id), None)
