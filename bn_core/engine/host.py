"""A training host: one thread that trains many runs, as a CPU scheduler would.

Paced runs (a steps-per-second limit) take their steps when they fall due, so a paced run costs
only the CPU it uses; runs without a pace share what is left in fair turns (the one that has had
the least CPU goes next), a slice of about SLICE_SECONDS at a time. The same host runs in a
worker process (bn_core/engine/backends/workers.py), in a thread of the calling process
(tests, the command line) and inside a Ray actor.

Paced runs whose nets share an architecture (thirty students' toy runs, say) take their plain
steps (those that record nothing) together, one batched step for all of them
(bn_core/nets/batched.py), and their probe steps alone; `BNLAB_BATCHED=0` steps every run alone.

Commands arrive as dicts ({"op": "start" | "pause" | "resume" | "stop" | "step" | "pace" |
"drop", "key": ..., "attempt": ...}); updates leave through `emit(key, update)`.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from bn_core.data import custom
from bn_core.engine.training import TrainingJob
from bn_core.nets.batched import BatchedStep

log = logging.getLogger("bn_core.host")

SLICE_SECONDS = 0.01       # longest stretch one run trains before the host looks around
FLUSH_SECONDS = 0.1        # a run's new records are sent at most this often
IDLE_WAIT = 0.5            # longest wait for a command when nothing is due
HEALTH_SECONDS = 1.0       # how often the host reports its load and checks its memory
BATCH_AHEAD = 0.01         # a paced run due this soon joins a batched step now
BATCHED_ENV = "BNLAB_BATCHED"  # "0": every run steps alone (benchmarks, comparisons)


def batched_by_default() -> bool:
    return os.environ.get(BATCHED_ENV, "1").strip().lower() not in ("0", "no", "off", "false")


@dataclass
class HostedJob:
    key: str
    job: TrainingJob
    origin_seq: dict = field(default_factory=dict)  # last command applied, per origin
    step_budget: int = 0        # steps still to take while paused ("step" command)
    last_flush: float = 0.0
    cpu_at_start: float = 0.0


def resident_mib() -> float:
    """This process's resident memory in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class TrainingHost:
    """Hosts many TrainingJobs in one thread (see the module docstring)."""

    def __init__(self, emit: Callable[[str, dict], None], memory_limit_mib: float | None = None,
                 report: Callable[[dict], None] | None = None):
        self.emit, self.report = emit, report
        self.memory_limit_mib = memory_limit_mib
        self.jobs: dict[str, HostedJob] = {}
        self._last_health = time.monotonic()
        self._busy = 0.0
        self._cpu_mark = time.thread_time()
        self.load = 0.0  # fraction of one core this host's thread used lately
        self.batching = batched_by_default()
        self._batched: dict = {}  # batch key -> (the nets' ids, their BatchedSteps)
        self.batched_rounds = 0   # batched steps taken (each steps several runs)

    # -- commands
    def handle(self, cmd: dict) -> None:
        op, key = cmd.get("op"), cmd.get("key")
        hosted = self.jobs.get(key)
        if op == "start":
            if hosted is not None and hosted.job.attempt >= cmd["attempt"]:
                return
            job = TrainingJob(cmd["config"], attempt=cmd["attempt"])
            points_error = None
            if cmd.get("points") is not None:  # an uploaded data set travels with its run
                try:
                    custom.receive(cmd["points"])
                except Exception as exc:
                    points_error = exc
            if cmd.get("pace") is not None:
                job.pace = float(cmd["pace"])
            hosted = HostedJob(key, job)
            self.jobs[key] = hosted
            self._ack(hosted, cmd)
            try:
                if points_error is not None:
                    raise points_error
                job.load()
            except Exception as exc:  # bad data or settings: this run fails, the host goes on
                job.fail(exc)
            if cmd.get("paused") and job.status == "running":
                job.status = "paused"
            self._flush(hosted, force=True)
            return
        if op == "shutdown":
            for h in self.jobs.values():
                h.job.stop("server shutting down")
                self._flush(h, force=True)
            self.jobs.clear()
            self._batched.clear()
            return
        if hosted is None or hosted.job.attempt != cmd.get("attempt", hosted.job.attempt):
            return  # a command for an attempt this host no longer holds
        job = hosted.job
        self._ack(hosted, cmd)
        if op == "pause" and job.status == "running":
            job.status = "paused"
            hosted.step_budget = 0
        elif op == "resume" and job.status == "paused":
            job.status = "running"
            job.pace_anchor = None
        elif op == "step" and job.status in ("paused", "running"):
            job.status = "paused"
            hosted.step_budget = max(0, int(cmd.get("n", 1)))
        elif op == "pace":
            job.set_pace(cmd.get("pace", 0.0))
        elif op == "stop":
            job.stop(cmd.get("reason", "stopped"))
        elif op == "drop":
            job.stop(cmd.get("reason", "stopped"))
            self._flush(hosted, force=True)
            del self.jobs[key]
            self._batched.clear()
            return
        job.changed = True
        self._flush(hosted, force=True)

    def _ack(self, hosted: HostedJob, cmd: dict) -> None:
        origin = cmd.get("origin")
        if origin is not None:
            hosted.origin_seq[origin] = max(hosted.origin_seq.get(origin, 0), cmd.get("seq", 0))

    # -- the scheduler
    def work(self) -> float:
        """Train whatever is due for about one slice; returns how long the caller may wait
        for a command before calling again (0 when there is more to do now)."""
        now = time.monotonic()
        self._health(now)
        pick, steps = self._pick(now)
        group = self._batch_group(pick, now) if pick is not None else None
        if group:
            self._advance_group(group, now + SLICE_SECONDS)
        elif pick is not None:
            job = pick.job
            stepping = pick.step_budget > 0 and job.status == "paused"
            if stepping:
                job.status = "running"
            taken = job.advance(steps, deadline=now + SLICE_SECONDS)
            if stepping:
                pick.step_budget -= taken
                if job.status == "running":
                    job.status = "paused"
                    if pick.step_budget <= 0:
                        job.changed = True
        self._flush_all(time.monotonic())
        if pick is not None:
            return 0.0
        return self._wait_hint(time.monotonic())

    def _pick(self, now: float) -> tuple[HostedJob | None, int]:
        due, fair = None, None
        for h in self.jobs.values():
            job = h.job
            if job.status == "paused" and h.step_budget > 0:
                return h, h.step_budget
            if job.status != "running":
                continue
            if job.pace:
                n = job.due_steps(now)
                if n > 0 and (due is None or job.next_due(now) < due[0].job.next_due(now)):
                    due = (h, n)
            elif fair is None or job.cpu_seconds - h.cpu_at_start < \
                    fair.job.cpu_seconds - fair.cpu_at_start:
                fair = h
        if due is not None:
            return due
        if fair is not None:
            return fair, fair.job.remaining
        return None, 0

    # -- batched steps of several runs
    def _batch_group(self, pick: HostedJob, now: float) -> list[HostedJob] | None:
        """The paced runs due about now that may step in one batch with `pick` (None if
        fewer than two)."""
        if not self.batching or not pick.job.pace or pick.step_budget:
            return None
        key = pick.job.batch_key()
        if key is None:
            return None
        group = [h for h in self.jobs.values()
                 if h.job.pace and not h.step_budget and h.job.batch_key() == key]
        return group if len(group) > 1 else None

    def _advance_group(self, group: list[HostedJob], deadline: float) -> None:
        """Step every run of the group that is due, a round at a time: the plain steps in one
        batched step, probe steps (and a run alone in its round) with its own step."""
        while True:
            now = time.monotonic()
            due = []
            for h in group:
                job = h.job
                if job.status == "running" and job.remaining and not h.step_budget:
                    job.due_steps(now)  # sets the pace's anchor
                    if job.next_due(now) <= now + BATCH_AHEAD:
                        due.append(h)
            if not due:
                return
            key = due[0].job.batch_key()
            batch = [h for h in due if h.job.plain_next_step() and h.job.batch_key() == key]
            batched = {id(h) for h in batch} if len(batch) > 1 else set()
            for h in due:
                if id(h) not in batched:
                    h.job.advance(1)
            if len(batch) > 1:
                self._batched_step([h.job for h in batch], key)
            if time.monotonic() >= deadline:
                return

    def _batched_step(self, jobs: list, key: tuple) -> None:
        cpu0, wall0 = time.thread_time(), time.monotonic()
        try:
            steps = self._steps_for(jobs, key)
            inputs = [job.next_batch() for job in jobs]
            xs = torch.stack([x for x, _ in inputs])
            ys = torch.stack([y for _, y in inputs])
            losses = [step.step(xs, ys) for step in steps]  # per net kind, per run
        except Exception:  # a fault of the batched step: each run steps alone instead
            log.exception("batched step of %d runs failed; stepping them one by one", len(jobs))
            self.batching = False
            self._batched.clear()
            for job in jobs:
                job.advance(1)
            return
        self.batched_rounds += 1
        for k, job in enumerate(jobs):
            job.took_batched_step([per_kind[k] for per_kind in losses])
        cpu, wall = time.thread_time() - cpu0, time.monotonic() - wall0
        for job in jobs:
            job.account(cpu / len(jobs), wall / len(jobs), 1)

    def _steps_for(self, jobs: list, key: tuple) -> list[BatchedStep]:
        """The batched steps (one per net kind) of these runs' nets, kept while they stay the
        same; one set per batch key, so a finished run's nets are not held for long."""
        ids = tuple(id(t.net) for job in jobs for t in job.active)
        cached = self._batched.get(key)
        if cached is None or cached[0] != ids:
            kinds = len(jobs[0].active)
            steps = [BatchedStep([job.active[i].net for job in jobs],
                                 [job.active[i].optimizer.lr for job in jobs])
                     for i in range(kinds)]
            cached = self._batched[key] = (ids, steps)
        return cached[1]

    def _wait_hint(self, now: float) -> float:
        wait = IDLE_WAIT
        for h in self.jobs.values():
            job = h.job
            if job.status == "running" and job.pace:
                wait = min(wait, max(0.0, job.next_due(now) - now))
            if job.changed or any(t.changed for t in job.trainers.values()):
                wait = min(wait, max(0.0, h.last_flush + FLUSH_SECONDS - now))
        return wait

    def _flush_all(self, now: float) -> None:
        for h in list(self.jobs.values()):
            if now - h.last_flush >= FLUSH_SECONDS or h.job.done:
                self._flush(h)
            if h.job.done and not (h.job.changed or any(t.changed for t in h.job.trainers.values())):
                del self.jobs[h.key]  # finished, stopped or failed: its nets are freed
                self._batched.clear()  # (the batched steps held them too)

    def _flush(self, hosted: HostedJob, force: bool = False) -> None:
        job = hosted.job
        update = job.drain()
        if update is None and not force:
            return
        update = update or {"attempt": job.attempt, "nets": {}, "status": job.status,
                            "message": job.message, "step": job.step,
                            "elapsed": job.active_seconds, "pace": job.pace}
        update["acks"] = dict(hosted.origin_seq)
        update["step_cost"] = job.step_cost
        update["stepping"] = hosted.step_budget
        hosted.last_flush = time.monotonic()
        self.emit(hosted.key, update)

    # -- health
    def _health(self, now: float) -> None:
        if now - self._last_health < HEALTH_SECONDS:
            return
        cpu = time.thread_time()
        self.load = (cpu - self._cpu_mark) / (now - self._last_health)
        self._cpu_mark, self._last_health = cpu, now
        rss = resident_mib()
        if self.memory_limit_mib and rss > self.memory_limit_mib:
            self._shed_memory(rss)
        if self.report:
            self.report({"load": self.load, "rss_mib": rss, "jobs": len(self.jobs),
                         "pid": os.getpid()})

    def _shed_memory(self, rss: float) -> None:
        """Over the memory budget: fail the live run with the most parameters."""
        live = [h for h in self.jobs.values() if not h.job.done and h.job.trainers]
        if not live:
            return
        def size(h):
            return sum(p.numel() for t in h.job.trainers.values() for p in t.params)
        victim = max(live, key=size)
        log.warning("worker %d over its memory budget (%.0f MiB > %.0f MiB): stopping %s",
                    os.getpid(), rss, self.memory_limit_mib, victim.key[:80])
        victim.job.fail(MemoryError(f"this training process used {rss:.0f} MiB, over its "
                                    f"budget of {self.memory_limit_mib:.0f} MiB; this run, "
                                    "the largest on it, was stopped"))
        self._flush(victim, force=True)

    def serve(self, next_commands: Callable[[float], list], stop: Callable[[], bool]) -> None:
        """The host's loop: take commands (waiting at most what `work` allows), train."""
        wait = 0.0
        while not stop():
            for cmd in next_commands(wait):
                if cmd.get("op") == "exit":
                    return
                self.handle(cmd)
            wait = self.work()
