"""Tests for bn_core/engine/registry.py: shared runs per config, LRU bound, training cap, idle stop."""
from __future__ import annotations

import pytest

from bn_core.engine.registry import RunRegistry

from conftest import bnlab_threads, endless_config, toy_config, wait_until

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


@pytest.fixture
def make_registry():
    made: list[RunRegistry] = []

    def make(**kwargs) -> RunRegistry:
        kwargs.setdefault("idle_timeout", None)
        registry = RunRegistry(**kwargs)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.shutdown()


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError, match="max_runs"):
        RunRegistry(max_runs=0)
    with pytest.raises(ValueError, match="max_training"):
        RunRegistry(max_training=0)


def test_the_same_config_returns_the_same_run(make_registry):
    registry = make_registry()
    a = registry.get(toy_config(seed=1))
    assert a.status == "ready" and not a.alive  # get() does not start it
    assert registry.get(toy_config(seed=1)) is a
    assert registry.start(toy_config(seed=1)) is a
    assert registry.peek(toy_config(seed=1).key()) is a
    b = registry.get(toy_config(seed=2))
    assert b is not a and b.config == toy_config(seed=2)
    assert registry.runs() == [a, b]
    assert registry.peek("no such key") is None


def test_starting_a_live_or_finished_run_again_does_not_restart_it(make_registry):
    registry = make_registry()
    run = registry.start(toy_config(steps=30))
    assert run.wait(30) and run.status == "finished"
    thread = run._thread
    assert registry.start(toy_config(steps=30)) is run
    assert run._thread is thread and run.status == "finished"


def test_lru_eviction_stops_and_joins_the_least_recently_used_run(make_registry):
    registry = make_registry(max_runs=2, max_training=3)
    a = registry.start(endless_config(seed=1))
    b = registry.start(endless_config(seed=2))
    assert wait_until(lambda: a.status == b.status == "running")
    registry.get(endless_config(seed=1))  # a is now more recent than b
    c = registry.get(endless_config(seed=3))  # over the bound: b goes, although it trains
    assert registry.runs() == [a, c]
    assert not b.alive and b.status == "stopped"
    assert b.snapshot().message.startswith("evicted")
    assert a.alive and a.status == "running"
    assert registry.peek(endless_config(seed=2).key()) is None
    assert registry.get(endless_config(seed=2)) is not b  # a fresh run if asked again


def test_eviction_prefers_a_run_that_is_not_training(make_registry):
    registry = make_registry(max_runs=2)
    done = registry.start(toy_config(seed=1, steps=20))
    assert done.wait(30)
    live = registry.start(endless_config(seed=2))
    registry.get(toy_config(seed=1))  # the finished run is the most recent, yet it goes
    registry.get(endless_config(seed=3))
    assert registry.peek(toy_config(seed=1).key()) is None
    assert live.alive and registry.peek(endless_config(seed=2).key()) is live


def test_with_one_training_slot_a_second_run_queues_until_the_first_ends(make_registry):
    registry = make_registry(max_training=1)
    first = registry.start(toy_config(seed=1, steps=150, pace=300.0, probe_every=5))
    second = registry.start(toy_config(seed=2, steps=40))
    assert wait_until(lambda: first.status == "running")
    assert wait_until(lambda: second.snapshot().queue_position == 1)
    assert first.alive and first.status == "running"
    snap = second.snapshot()
    assert snap.status == "queued" and snap.step == 0 and snap.nets == {}
    assert registry.training_count() == 1
    assert first.wait(30) and first.status == "finished"
    assert second.wait(30)
    assert second.status == "finished" and second.snapshot().step == 40
    assert second.queue_position is None and second.snapshot().queue_position is None


def test_queue_positions_move_up_when_a_slot_frees(make_registry):
    registry = make_registry(max_training=1)
    first = registry.start(endless_config(seed=1))
    assert wait_until(lambda: first.status == "running")
    second = registry.start(endless_config(seed=2))
    assert wait_until(lambda: second.queue_position == 1)
    third = registry.start(endless_config(seed=3))
    assert wait_until(lambda: third.queue_position == 2)
    first.stop(wait=5.0)
    assert not first.alive
    # one of the two waiting runs takes the slot; the other is first in line
    assert wait_until(lambda: {second.status, third.status} == {"running", "queued"})
    waiting = second if second.status == "queued" else third
    assert wait_until(lambda: waiting.snapshot().queue_position == 1)


def test_stopping_a_queued_run_ends_its_thread(make_registry):
    registry = make_registry(max_training=1)
    first = registry.start(endless_config(seed=1))
    second = registry.start(endless_config(seed=2))
    assert wait_until(lambda: second.queue_position == 1)
    second.stop("not needed", wait=5.0)
    assert not second.alive
    assert second.status == "stopped" and second.snapshot().message == "not needed"
    assert first.alive and first.status == "running"
    first.stop(wait=5.0)
    assert not first.alive and first.status == "stopped"
    assert not bnlab_threads()


def test_a_run_nobody_watches_stops_after_the_idle_timeout(make_registry):
    registry = make_registry(idle_timeout=0.3)
    watched = registry.start(endless_config(seed=1))
    ignored = registry.start(endless_config(seed=2))

    def ignored_stopped():
        watched.touch("viewer-1")  # as a page does at each refresh
        return not ignored.alive

    assert wait_until(ignored_stopped, timeout=10.0, interval=0.05)
    snap = ignored.snapshot()
    assert snap.status == "stopped" and snap.message == "stopped: nobody was watching"
    assert watched.alive and watched.status == "running"


def test_a_watched_run_outlives_the_idle_timeout(make_registry):
    registry = make_registry(idle_timeout=0.4)
    run = registry.start(endless_config(seed=1))
    for _ in range(12):  # 1.2 s: three idle timeouts
        run.touch("viewer-1")
        wait_until(lambda: False, timeout=0.1)
    assert run.alive and run.status == "running"
    assert run.snapshot().viewers == 1
    run.release("viewer-1")
    assert run.snapshot().viewers == 0


def test_a_queued_run_nobody_watches_leaves_the_queue(make_registry):
    registry = make_registry(max_training=1, idle_timeout=0.3)
    first = registry.start(endless_config(seed=1))
    second = registry.start(endless_config(seed=2))

    def second_stopped():
        first.touch("viewer-1")
        return not second.alive

    assert wait_until(lambda: second.status == "queued")
    assert wait_until(second_stopped, timeout=10.0, interval=0.05)
    assert second.status == "stopped" and second.snapshot().nets == {}  # it never trained
    assert second.snapshot().message == "stopped: nobody was watching"
    assert first.alive and first.status == "running"


def test_shutdown_stops_every_run_and_leaves_no_threads(make_registry):
    registry = make_registry(max_training=1)
    runs = [registry.start(endless_config(seed=s)) for s in (1, 2, 3)]
    assert wait_until(lambda: runs[0].status == "running")
    registry.shutdown()
    assert not bnlab_threads()
    assert registry.runs() == []
    for run in runs:
        assert not run.alive and run.status == "stopped"
        assert run.snapshot().message == "server shutting down"


def test_summary_lists_kept_runs_most_recent_first(make_registry):
    registry = make_registry()
    done = registry.start(toy_config(seed=1, steps=30))
    assert done.wait(30)
    registry.get(toy_config(seed=2, depth=3, activation="relu"))
    rows = registry.summary()
    assert [r["key"] for r in rows] == [toy_config(seed=2, depth=3, activation="relu").key(),
                                        toy_config(seed=1, steps=30).key()]
    assert rows[0]["status"] == "ready" and rows[0]["net"] == "3x8 relu"
    assert rows[1]["status"] == "finished" and rows[1]["step"] == rows[1]["steps"] == 30
    assert rows[1]["nets"] == "plain, bn" and rows[1]["queue"] is None
