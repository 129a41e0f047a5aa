"""Run control from several viewers in any order (a hypothesis state machine): start, pause,
resume, step, stop, restart, watch and leave. Invariants after every command: the last command
wins, both in what the page shows at once and in what the trainer does once it has heard;
a stopped run holds no CPU and no nets; a run nobody watches is paused; nothing leaks."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bn_core.engine.backends.inprocess import InProcessBackend
from bn_core.engine.registry import RunRegistry

from conftest import toy_config, wait_until

VIEWERS = st.sampled_from(["teacher", "ana", "ben"])
LIVE = ("queued", "loading", "running", "paused")


class RunControl(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.backend = InProcessBackend(1, max_unpaced_per_host=2)
        self.registry = RunRegistry(backend=self.backend, idle_timeout=None)
        self.run = self.registry.get(toy_config(seed=7, steps=200_000, pace=300.0,
                                                probe_every=25, eval_every=25))
        self.expected = "ready"
        self.idle = False  # paused because its last viewer left (a look resumes it)
        self.watchers: set[str] = set()

    # -- the model: what the page must show right after each command
    @rule()
    def start(self):
        self.run.start()
        if self.expected not in LIVE:
            self.expected, self.idle = "running", False

    @rule()
    def pause(self):
        self.run.pause()
        if self.expected == "running":
            self.expected = "paused"
        self.idle = False

    @rule()
    def resume(self):
        self.run.resume()
        if self.expected == "paused":
            self.expected = "running"
        self.idle = False

    @rule(n=st.sampled_from([1, 10]))
    def step(self, n):
        before = self.run.snapshot().step
        self.run.step(n)
        if self.expected in ("running", "paused"):
            self.expected, self.idle = "paused", False
            # exactly n more steps (or more if it was running until the command arrived)
            assert wait_until(lambda: self.run.snapshot().step >= before + n, timeout=20)

    @rule()
    def stop(self):
        self.run.stop("stopped by a viewer")
        if self.expected in LIVE:
            self.expected = "stopped"
        self.idle = False

    @rule()
    def restart(self):
        self.run.restart()
        self.expected, self.idle = "running", False

    @rule(viewer=VIEWERS)
    def watch(self, viewer):
        self.registry.watch(self.run, viewer)
        self.watchers.add(viewer)
        if self.expected == "paused" and self.idle:  # a look wakes a run nobody was watching
            self.expected, self.idle = "running", False

    @precondition(lambda self: self.watchers)
    @rule(data=st.data())
    def leave(self, data):
        viewer = data.draw(st.sampled_from(sorted(self.watchers)))
        self.registry.leave(self.run, viewer)
        self.watchers.discard(viewer)
        if not self.watchers and self.expected == "running":
            self.expected, self.idle = "paused", True

    # -- invariants
    def _shown(self) -> str:
        status = self.run.status
        return "running" if status in ("queued", "loading") else status

    @invariant()
    def the_page_shows_the_last_command_at_once(self):
        assert self._shown() == self.expected

    @invariant()
    def the_trainer_obeys_the_last_command(self):
        host = self.backend.channels[0].host

        def agrees():
            hosted = host.jobs.get(self.run.key)
            if self.expected in ("stopped", "ready", "finished"):
                return hosted is None  # a stopped run's nets are freed
            if hosted is None or hosted.job.attempt != self.run.attempt:
                return False
            return hosted.job.status == self.expected and hosted.step_budget == 0

        assert wait_until(agrees, timeout=20), (self.expected, self.run.status)
        placements = self.backend.scheduler.hosts[0].placements
        if self.expected in ("stopped", "ready"):
            assert wait_until(lambda: self.run.key not in placements, timeout=10)
        else:
            want = self.expected == "running"
            assert wait_until(lambda: self.run.key in placements and
                              placements[self.run.key].running == want, timeout=10)

    def teardown(self):
        self.registry.shutdown()
        host_thread = self.backend.channels[0].thread
        assert wait_until(lambda: not host_thread.is_alive(), timeout=20)
        assert not self.backend._thread.is_alive() or wait_until(
            lambda: not self.backend._thread.is_alive(), timeout=5)


RunControl.TestCase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
test_run_control = pytest.mark.slow(RunControl.TestCase)
