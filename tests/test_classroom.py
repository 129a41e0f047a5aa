"""Tests for bn_core/engine/classroom.py: following the teacher, prediction rounds with
anonymous bounded answers, and the counts of following and exploring students."""
from __future__ import annotations

from bn_core.engine import classroom as cr
from bn_core.engine.classroom import Classroom


def test_the_version_moves_only_when_the_teacher_changes_page_or_settings():
    room = Classroom()
    v1 = room.present("pages/1_Figure_1_live.py", {"lrx": "5"})
    assert room.present("pages/1_Figure_1_live.py", {"lrx": "5"}) == v1
    v2 = room.present("pages/1_Figure_1_live.py", {"lrx": "30"})
    v3 = room.present("app.py", {})
    assert v1 < v2 < v3
    state = room.state()
    assert state["page"] == "app.py" and state["query"] == {} and state["presenting"]


def test_teacher_input_is_bounded():
    room = Classroom()
    room.present("x" * 10_000, {f"k{i}": "v" * 10_000 for i in range(1000)})
    state = room.state()
    assert len(state["page"]) == cr.MAX_TEXT
    assert len(state["query"]) == cr.MAX_QUERY_ITEMS
    assert all(len(v) == cr.MAX_TEXT for v in state["query"].values())


def test_a_round_counts_one_anonymous_answer_per_student_and_shows_counts_only_when_revealed():
    room = Classroom()
    room.open_round("q1", "pages/5_Shuffling.py", "Sorted batches: which net learns?",
                    ["plain", "BN", "neither"])
    assert room.answer("s1", "q1", 0) and room.answer("s2", "q1", 2)
    assert room.answer("s1", "q1", 2)  # changed their mind: the last answer counts
    assert not room.answer("s3", "q1", 7) and not room.answer("s3", "nope", 0)
    public = room.state()["round"]
    assert public["answered"] == 2 and public["counts"] is None  # not revealed yet
    assert "s1" not in str(room.state())  # no session ids leave the classroom
    room.reveal()
    public = room.state()["round"]
    assert public["revealed"] and public["counts"] == [0, 0, 2]
    assert not room.answer("s4", "q1", 0)  # answers close at the reveal


def test_answers_and_rounds_are_bounded(monkeypatch):
    monkeypatch.setattr(cr, "MAX_ANSWERS", 3)
    monkeypatch.setattr(cr, "MAX_QUESTIONS", 2)
    room = Classroom()
    room.open_round("q1", "p", "?", ["a", "b"])
    assert [room.answer(f"s{i}", "q1", 0) for i in range(5)] == [True, True, True, False, False]
    assert room.answer("s0", "q1", 1)  # an existing student may still change theirs
    room.open_round("q2", "p", "?", ["a"])
    room.open_round("q3", "p", "?", ["a"])
    assert set(room.rounds) == {"q2", "q3"}


def test_followers_and_explorers_are_counted_while_they_look(monkeypatch):
    room = Classroom()
    room.seen("a", "following")
    room.seen("b", "following")
    room.seen("c", "exploring")
    state = room.state()
    assert (state["following"], state["exploring"]) == (2, 1)
    t, mode = room.students["a"]
    room.students["a"] = (t - 2 * cr.FOLLOWER_TIMEOUT, mode)  # a closed the laptop
    assert room.state()["following"] == 1
