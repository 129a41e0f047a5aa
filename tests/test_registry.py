"""Tests for bn_core/engine/registry.py: shared runs per config, the eviction invariants
(a watched run is never evicted), queueing when the cores are full, pausing runs nobody
watches and resuming them where they were."""
from __future__ import annotations

import pytest

from bn_core.engine.backends.inprocess import InProcessBackend
from bn_core.engine.registry import RegistryFull, RunRegistry

from conftest import endless_config, toy_config, wait_until

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


@pytest.fixture
def make_registry():
    """Registries on their own in-process backend (one host; by default one unpaced run per
    host, so a second unpaced run queues)."""
    made: list[RunRegistry] = []

    def make(hosts: int = 1, max_unpaced_per_host: int = 1, **kwargs) -> RunRegistry:
        kwargs.setdefault("idle_timeout", None)
        backend = InProcessBackend(hosts, max_unpaced_per_host=max_unpaced_per_host)
        registry = RunRegistry(backend=backend, **kwargs)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.shutdown()


def unpaced(seed: int, **kw):
    """A long run without a pace: it takes a whole share of a host."""
    return toy_config(seed=seed, steps=200_000, probe_every=50, eval_every=50, **kw)


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError, match="max_runs"):
        RunRegistry(max_runs=0)


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


def test_starting_a_finished_run_again_does_not_restart_it(make_registry):
    registry = make_registry()
    run = registry.start(toy_config(steps=30))
    assert run.wait(30) and run.status == "finished"
    attempt = run.attempt
    assert registry.start(toy_config(steps=30)) is run
    assert run.attempt == attempt and run.status == "finished"


def test_eviction_takes_the_least_recently_seen_unwatched_run(make_registry):
    registry = make_registry(max_runs=2, max_unpaced_per_host=4)
    a = registry.start(endless_config(seed=1))
    b = registry.start(endless_config(seed=2))
    assert wait_until(lambda: a.status == b.status == "running")
    registry.get(endless_config(seed=1))  # a is now more recent than b
    c = registry.get(endless_config(seed=3))  # over the bound: b goes (nobody watches it)
    assert registry.runs() == [a, c]
    assert not b.alive and b.status == "stopped"
    assert b.snapshot().message.startswith("evicted")
    assert a.alive
    assert registry.get(endless_config(seed=2)) is not b  # a fresh run if asked again


def test_a_watched_run_is_never_evicted_and_a_full_registry_refuses_new_runs(make_registry):
    """The hostile case: one client asks for config after config while the class watches
    a long run. Recency counts every look (each refresh), and a watched run never goes."""
    registry = make_registry(max_runs=3, max_unpaced_per_host=4)
    class_run = registry.start(endless_config(seed=1))
    registry.watch(class_run, "teacher")
    for seed in range(2, 20):  # 18 new configs from one client, none watched
        registry.get(endless_config(seed=seed))
        registry.watch(class_run, "teacher")  # the class's page refreshes meanwhile
    assert registry.peek(class_run.key) is class_run and class_run.alive
    # now everything kept is watched: a new config is refused, with a reason
    kept = [r for r in registry.runs() if r is not class_run]
    for i, run in enumerate(kept):
        registry.watch(run, f"student-{i}")
    with pytest.raises(RegistryFull, match="all being watched"):
        registry.get(endless_config(seed=99))
    assert registry.peek(class_run.key) is class_run


def test_when_the_cores_are_full_a_run_queues_with_its_place_and_starts_when_room_frees(make_registry):
    registry = make_registry()
    first = registry.start(unpaced(1))
    second = registry.start(toy_config(seed=2, steps=40))
    assert wait_until(lambda: first.status == "running")
    assert wait_until(lambda: second.snapshot().queue_position == 1)
    snap = second.snapshot()
    assert snap.status == "queued" and snap.step == 0 and snap.nets == {}
    assert registry.backend.queued() == 1
    first.stop()
    assert second.wait(30)
    assert second.status == "finished" and second.snapshot().step == 40
    assert second.snapshot().queue_position is None


def test_queue_positions_move_up_when_room_frees(make_registry):
    registry = make_registry()
    first = registry.start(unpaced(1))
    assert wait_until(lambda: first.status == "running")
    second = registry.start(unpaced(2))
    third = registry.start(unpaced(3))
    assert wait_until(lambda: (second.queue_position, third.queue_position) == (1, 2))
    first.stop()
    assert wait_until(lambda: second.status == "running")
    assert wait_until(lambda: third.snapshot().queue_position == 1)
    second.stop()
    third.stop()


def test_paced_runs_do_not_queue_while_they_fit_in_a_core(make_registry):
    registry = make_registry(max_unpaced_per_host=1)
    runs = [registry.start(toy_config(seed=s, steps=100_000, pace=20.0, probe_every=20,
                                      eval_every=20)) for s in range(6)]
    assert wait_until(lambda: all(r.status == "running" for r in runs), timeout=20)
    assert registry.backend.queued() == 0
    for r in runs:
        r.stop()


def test_stopping_a_queued_run_never_builds_it(make_registry):
    registry = make_registry()
    first = registry.start(unpaced(1))
    second = registry.start(unpaced(2))
    assert wait_until(lambda: second.queue_position == 1)
    second.stop("not needed")
    assert not second.alive
    assert second.status == "stopped" and second.snapshot().message == "not needed"
    assert second.snapshot().nets == {}
    assert first.alive
    first.stop(wait=5.0)
    assert not first.alive and first.status == "stopped"


def test_a_run_whose_last_viewer_leaves_pauses_at_once_and_resumes_where_it_was(make_registry):
    registry = make_registry()
    run = registry.start(endless_config(seed=1))
    registry.watch(run, "student")
    assert wait_until(lambda: run.status == "running" and run.snapshot().step > 20)
    attempt = run.attempt
    registry.leave(run, "student")  # moved a slider: this run has nobody now
    assert run.status == "paused" and run.snapshot().paused_by == "idle"
    held = run.snapshot().step
    assert wait_until(lambda: run.snapshot().step == held)
    registry.watch(run, "student")  # the setting changed back
    assert run.status == "running"
    assert wait_until(lambda: run.snapshot().step > held + 10)
    assert run.attempt == attempt  # the same attempt: it went on, not from step 0


def test_a_run_another_viewer_watches_goes_on_when_one_leaves(make_registry):
    registry = make_registry()
    run = registry.start(endless_config(seed=1))
    registry.watch(run, "a")
    registry.watch(run, "b")
    registry.leave(run, "a")
    assert wait_until(lambda: run.status == "running")
    assert run.viewers == 1


def test_a_run_nobody_looks_at_pauses_after_the_idle_timeout(make_registry):
    registry = make_registry(idle_timeout=0.3, max_unpaced_per_host=4)
    watched = registry.start(endless_config(seed=1))
    ignored = registry.start(endless_config(seed=2))

    def ignored_paused():
        registry.watch(watched, "viewer-1")  # as a page does at each refresh
        return ignored.status == "paused"

    assert wait_until(ignored_paused, timeout=10.0, interval=0.05)
    assert ignored.snapshot().paused_by == "idle"
    assert watched.alive and watched.status == "running"


def test_a_queued_run_nobody_watches_leaves_the_queue_without_building_its_nets(make_registry):
    registry = make_registry(idle_timeout=0.3)
    first = registry.start(unpaced(1))
    second = registry.start(unpaced(2))

    def second_stopped():
        first.touch("viewer-1")
        return not second.alive

    assert wait_until(lambda: second.status == "queued")
    assert wait_until(second_stopped, timeout=10.0, interval=0.05)
    assert second.status == "stopped" and second.snapshot().nets == {}
    assert second.snapshot().message == "stopped: nobody was watching"
    assert first.alive


def test_viewers_are_pruned_when_they_stop_looking(make_registry):
    registry = make_registry()
    run = registry.get(toy_config())
    run.touch("a")
    run.touch("b")
    assert run.viewers == 2
    run._viewers["a"] -= 60.0  # a's last look was a minute ago: it has left
    assert run.viewers == 1
    run._viewers["b"] -= 3600.0
    assert run.viewers == 0 and run._viewers == {}  # forgotten, not only uncounted


def test_shutdown_stops_every_run_and_leaves_no_threads(make_registry):
    registry = make_registry(max_unpaced_per_host=4)
    backend = registry.backend
    threads = [backend._thread] + [ch.thread for ch in backend.channels]
    runs = [registry.start(endless_config(seed=s)) for s in (1, 2, 3)]
    assert wait_until(lambda: runs[0].status == "running")
    registry.shutdown()
    assert wait_until(lambda: not any(t.is_alive() for t in threads))
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
