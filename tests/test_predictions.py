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
