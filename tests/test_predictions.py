"""Tests for bn_core/lessons/predictions.py: every question names a page that exists and
settings that page reads, and its answer is read off a real run (None while undecided)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bn_core.config import SETTINGS
from bn_core.engine.records import snapshot_at
from bn_core.engine.training import train_to_end
from bn_core.lessons import predictions
from bn_core.lessons.home import LESSONS

ROOT = Path(__file__).resolve().parent.parent
URL_KEYS = {s.url for s in SETTINGS.values()}


@pytest.mark.parametrize("question", predictions.QUESTIONS, ids=lambda q: q.id)
def test_each_question_names_a_page_and_settings_that_exist(question):
    assert (ROOT / question.page).exists()
    assert question.page == "app.py" or question.page in [p for p, *_ in LESSONS]
    assert set(question.settings) <= URL_KEYS
    assert len(question.choices) >= 2 and len(set(question.choices)) == len(question.choices)
    assert predictions.by_id(question.id) is question


def test_the_home_question_is_answered_by_the_run_and_undecided_before():
    from app import HOME_RUN  # noqa: F401  (the page's own run)

    snap = train_to_end(HOME_RUN.replace(pace=0.0))
    answer = predictions.first_to_fit(snap)
    assert answer is not None
    index, why = answer
    assert 0 <= index < 3 and "90%" in why
    # at step 0 nobody has fitted the data yet: undecided, not guessed
    assert predictions.first_to_fit(snapshot_at(snap, 0)) is None


def test_a_diverging_net_answers_the_learning_rate_question():
    from bn_core.config import RunConfig

    snap = train_to_end(RunConfig(dataset="moons", n_samples=400, batch_size=60,
                                  activation="relu", depth=3, width=16, lr=1.0, init="scaled",
                                  init_scale=3.0, steps=100, probe_every=1, eval_every=1,
                                  grid_resolution=0, heldout_size=200))
    index, why = predictions.diverges(snap)
    assert predictions.WHICH[index] == "only the plain net" and "diverged at step" in why


def test_the_figure1_ics_and_gamma_questions_are_read_off_their_pages_runs():
    from bn_core.presets import lesson_setup

    fig1 = train_to_end(lesson_setup("figure1").replace(steps=400, pace=0.0))
    assert predictions.ahead_early(snapshot_at(fig1, 200)) is None  # step 300 not reached
    index, why = predictions.ahead_early(fig1)
    ev = {n: v.evals for n, v in fig1.nets.items()}
    p, b = (float(ev[n]["heldout_acc"][ev[n]["step"] == 300][0]) for n in ("plain", "bn"))
    assert index == (2 if abs(p - b) < 0.02 else 1 if b > p else 0)
    assert index == 1 and f"plain {p:.0%}, BN {b:.0%}" in why  # seed 0: BN ahead (docs/claims.md)

    ics = train_to_end(lesson_setup("internal-covariate-shift").replace(steps=300, pace=0.0))
    var = ics.nets["plain"].probes["var"][:, -1]
    index, why = predictions.variance_grows(ics)
    assert index == (0 if var[-1] / var[0] > 2 else 1) and f"{var[0]:.3g} to {var[-1]:.3g}" in why

    q = predictions.by_id("gb-frozen")
    cfg = lesson_setup("gamma-beta").replace(pace=0.0, steps=1500)
    assert (cfg.affine, cfg.gamma_value, cfg.beta_value, cfg.dataset) == ("frozen", 0.5, 0.0,
                                                                           "moons")
    gb = train_to_end(cfg)
    assert q.measure(snapshot_at(gb, 100)) is None  # still training: undecided
    plain, bn = (float(gb.nets[n].evals["heldout_acc"][-1]) for n in ("plain", "bn"))
    index, why = q.measure(gb)
    assert index == (0 if bn >= plain - 0.03 else 1) and f"plain {plain:.0%}, BN {bn:.0%}" in why
    learnable = train_to_end(cfg.replace(affine="learnable"))
    assert q.measure(learnable)[0] == 0  # learnt gamma and beta: level (100% on seeds 0-2)
