"""Tests for bn_core/engine/history.py: bounded columnar records with decimation and lock-free views."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bn_core.engine.history import History


def fill(history: History, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        history.append(i, loss=float(i), layers=np.full(3, i, np.float32))


def test_capacity_below_two_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        History(1)


def test_an_empty_history_has_no_rows_and_no_memory():
    h = History(8)
    assert len(h) == 0
    assert h.view() == {}
    assert h.nbytes == 0


def test_rows_are_kept_in_order_until_capacity():
    h = History(8)
    fill(h, 8)
    v = h.view()
    assert h.stride == 1 and len(h) == 8
    np.testing.assert_array_equal(v["step"], np.arange(8))
    np.testing.assert_array_equal(v["loss"], np.arange(8, dtype=np.float32))
    assert v["layers"].shape == (8, 3)
    assert v["loss"].dtype == np.float32  # floats are stored as float32
    assert v["step"].dtype == np.int64


@pytest.mark.parametrize("capacity", [2, 3, 5, 8, 64, 100])
def test_memory_is_bounded_whatever_the_number_of_appends(capacity):
    h = History(capacity)
    h.append(0, loss=0.0, layers=np.zeros(3, np.float32))
    allocated, row = h.nbytes, 8 + 4 + 3 * 4
    assert allocated == capacity * row
    for n in (20_000, 1):  # the last offered record ends off the stride, then on it
        fill(h, n, start=len(h.view()["step"]) and int(h.view()["step"][-1]) + 1)
        assert len(h) <= capacity
        assert allocated <= h.nbytes <= allocated + row  # the capacity's rows and the tail


def test_decimation_keeps_the_first_step_and_even_spacing_and_doubles_the_stride():
    h = History(8)
    strides = []
    for i in range(1000):
        h.append(i, loss=float(i))
        if not strides or strides[-1] != h.stride:
            strides.append(h.stride)
        steps = h.view()["step"]
        assert steps[0] == 0 and steps[-1] == i  # the first and the latest record
        assert len(steps) <= 8
        kept = steps if i % h.stride == 0 else steps[:-1]  # the rest: every stride-th
        np.testing.assert_array_equal(np.diff(kept), np.full(len(kept) - 1, h.stride))
    # 0, 128, ..., 896 and the latest (999) would be 9 rows: the stride doubles once more
    assert strides == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    np.testing.assert_array_equal(h.view()["step"], [0, 256, 512, 768, 999])
    np.testing.assert_array_equal(h.view()["loss"], np.float32([0, 256, 512, 768, 999]))


def test_append_reports_whether_the_record_was_kept():
    h = History(4)
    kept = [h.append(i, x=1.0) for i in range(9)]
    assert kept == [True, True, True, True, True, False, True, False, True]
    np.testing.assert_array_equal(h.view()["step"], [0, 4, 8])


def test_views_are_read_only_and_do_not_change_when_rows_are_added():
    h = History(4)
    fill(h, 3)
    v = h.view()
    for col in v.values():
        assert not col.flags.writeable
        with pytest.raises(ValueError):
            col[0] = 1
    fill(h, 50, start=3)  # appends and several decimations
    np.testing.assert_array_equal(v["step"], [0, 1, 2])
    np.testing.assert_array_equal(v["loss"], [0.0, 1.0, 2.0])


def test_views_stay_consistent_while_a_writer_appends():
    h = History(64)
    total = 200_000
    done = threading.Event()
    errors: list[str] = []

    def writer():
        for i in range(total):
            h.append(i, loss=float(i), pair=np.array([i, -i], np.float64))
        done.set()

    thread = threading.Thread(target=writer, name="test-history-writer")
    thread.start()
    views = during = 0
    while not done.is_set() or views < 3000:
        writing = not done.is_set()
        v = h.view()
        views += 1
        during += writing
        if not v:
            continue
        n = len(v["step"])
        if not all(len(col) == n for col in v.values()):
            errors.append(f"ragged view: {[len(c) for c in v.values()]}")
        steps = v["step"]
        strided = steps[:-1]  # the latest record may be off the stride
        if steps[0] != 0 or (n > 2 and len(set(np.diff(strided).tolist())) != 1) \
                or (n > 1 and steps[-1] <= steps[-2]):
            errors.append(f"uneven steps {steps[:5]}...")
        if not (np.array_equal(v["loss"], steps.astype(np.float32))
                and np.array_equal(v["pair"][:, 0], steps) and np.array_equal(v["pair"][:, 1], -steps)):
            errors.append("a row does not match its step")
        if errors:
            break
    thread.join()
    assert not errors, errors[:3]
    assert views >= 3000
    assert during >= 100, "the reader never overlapped the writer"
    assert len(h) <= 64


# ---------------------------------------------------------------------------- the last record

@settings(max_examples=300, deadline=None)
@given(st.integers(2, 40), st.integers(1, 600))
def test_the_latest_record_is_always_in_the_view_after_the_multiples_of_the_stride(capacity, n):
    h = History(capacity)
    for i in range(n):
        h.append(i, x=2.0 * i, pair=np.array([i, -i], np.float64))
    v = h.view()
    stride = h.stride
    expected = sorted(set(range(0, n, stride)) | {n - 1})
    np.testing.assert_array_equal(v["step"], expected)
    np.testing.assert_array_equal(v["x"], 2.0 * v["step"])
    np.testing.assert_array_equal(v["pair"][:, 1], -v["step"])
    assert len(h) == len(expected) <= capacity
    if stride > 1:  # it doubled only because the finer spacing (and the last record) did not fit
        assert len(set(range(0, n, stride // 2)) | {n - 1}) > capacity
    assert (v.offered, v.stride) == (n, stride)


def test_a_view_with_the_latest_record_does_not_change_when_that_record_is_replaced():
    h = History(4)
    fill(h, 6)  # stride 2: rows 0, 2, 4 and the latest, 5
    v = h.view()
    np.testing.assert_array_equal(v["step"], [0, 2, 4, 5])
    fill(h, 1, start=6)  # 6 is on the stride: the latest is now a kept row, 5 is gone
    fill(h, 1, start=7)
    np.testing.assert_array_equal(h.view()["step"], [0, 4, 7])
    np.testing.assert_array_equal(v["step"], [0, 2, 4, 5])
    np.testing.assert_array_equal(v["loss"], [0.0, 2.0, 4.0, 5.0])
    assert all(not col.flags.writeable for col in v.values())


def test_a_50_001_step_run_s_final_probe_is_kept():
    """The trainer probes every `probe_every` steps and at the last step (50,001 here)."""
    h, steps, every = History(1024), 50_001, 25
    offered = [s for s in range(0, steps + 1) if s % every == 0 or s == steps]
    for s in offered:
        h.append(s, loss=float(s) / 7)
    v = h.view()
    assert v["step"][-1] == steps
    assert v["loss"][-1] == np.float32(steps / 7)
    assert (v.offered, len(v["step"])) == (len(offered), len(h))
    assert len(h) <= 1024 and v.stride > 1
