"""A pool of training hosts with a CPU-aware scheduler in front: what the in-process and the
worker-process backends share. They differ only in their channel to a host (a queue to a
thread, or a pipe to a process).

The pool keeps, under one lock: the runs it was given, the queue of runs waiting for room, and
where each admitted run trains. A housekeeping thread admits queued runs as room frees (costs
are measured as runs train), pauses runs nobody watches, and stops queued runs whose viewers
left, so they never build their nets.
"""
from __future__ import annotations

import logging
import threading
import time

from bn_core.engine.records import ENDED_STATUSES
from bn_core.engine.scheduler import CpuScheduler

log = logging.getLogger("bn_core.pool")

HOUSEKEEPING_SECONDS = 0.25


class HostPool:
    """Backend over `n_hosts` channels made by `make_channel(host_id, pool)`."""

    name = "pool"

    def __init__(self, n_hosts: int, make_channel, **scheduler_options):
        self._lock = threading.RLock()
        self.scheduler = CpuScheduler(n_hosts, **scheduler_options)
        self._make_channel = make_channel
        self._runs: dict = {}        # key -> Run (submitted, queued or placed)
        self._where: dict = {}       # key -> host id
        self._queue: list = []       # Runs waiting for room, oldest first
        self._start_cmds: dict = {}  # key -> the start command of a queued run
        self.health: dict[int, dict] = {}
        self._closing = False
        self.channels = [make_channel(i, self) for i in range(n_hosts)]
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._housekeeping, name="bnlab-scheduler",
                                        daemon=True)
        self._thread.start()

    # -- the backend interface
    def submit(self, run, cmd: dict) -> None:
        with self._lock:
            old = self._where.pop(run.key, None)
            if old is not None:
                self.scheduler.remove(run.key, old)
            if run in self._queue:
                self._queue.remove(run)
            self._runs[run.key] = run
            self._start_cmds[run.key] = cmd
            self._queue.append(run)
            self._admit()

    def command(self, run, cmd: dict) -> None:
        op = cmd["op"]
        with self._lock:
            if run in self._queue:
                # never built: a queued run is stopped, paused or resumed right here
                if op == "stop":
                    self._queue.remove(run)
                    self._start_cmds.pop(run.key, None)
                    run.apply({"attempt": cmd["attempt"], "status": "stopped",
                               "message": cmd.get("reason", "stopped"),
                               "acks": {cmd["origin"]: cmd["seq"]}})
                elif op in ("pause", "step"):
                    self._start_cmds[run.key]["paused"] = True
                elif op == "resume":
                    self._start_cmds[run.key]["paused"] = False
                elif op == "pace":
                    self._start_cmds[run.key]["pace"] = cmd["pace"]
                self._update_queue()
                return
            host = self._where.get(run.key)
            if host is None:
                return
            if op in ("stop", "pause", "step"):  # a stopped run leaves once its host confirms
                self.scheduler.update(run.key, host, running=False)
            elif op == "resume":
                self.scheduler.update(run.key, host, running=True)
            elif op == "pace":
                self.scheduler.update(run.key, host, pace=cmd["pace"])
            channel = self.channels[host]
        channel.send(cmd)
        self._wake.set()

    def forget(self, run) -> None:
        with self._lock:
            if self._runs.get(run.key) is run:
                del self._runs[run.key]
            if run in self._queue:
                self._queue.remove(run)
            self._start_cmds.pop(run.key, None)
            host = self._where.pop(run.key, None)
            if host is not None:
                self.scheduler.remove(run.key, host)
                self.channels[host].send({"op": "drop", "key": run.key,
                                          "attempt": run.attempt, "reason": "evicted"})
            self._update_queue()

    def rows(self) -> list[dict]:
        with self._lock:
            rows = self.scheduler.rows()
            for row in rows:
                row.update(self.health.get(row["host"], {}))
                row["kind"] = self.name
            return rows

    def ready(self) -> bool:
        """Whether every host has started (a worker process imports torch first)."""
        return all(getattr(ch, "ready", None) is None or ch.ready.is_set()
                   for ch in self.channels)

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def shutdown(self) -> None:
        with self._lock:
            self._closing = True
            channels = list(self.channels)
        self._wake.set()
        for ch in channels:
            ch.close()
        self._thread.join(5)

    # -- from the hosts
    def on_update(self, host: int, key: str, update: dict) -> None:
        with self._lock:
            run = self._runs.get(key)
            if run is None or self._where.get(key) != host or update.get("attempt") != run.attempt:
                return  # a stale update: from an attempt (or run) that is no longer here
            run.apply(update)
            status = update.get("status")
            if status in ENDED_STATUSES:
                self.scheduler.remove(key, host)
                self._where.pop(key, None)
                self._wake.set()
            else:
                self.scheduler.update(
                    key, host, step_cost=update.get("step_cost"),
                    running=(status == "running" or bool(update.get("stepping"))) if status else None,
                    pace=update.get("pace"),
                    remaining=max(0, run.config.steps - update.get("step", 0)),
                    steps_per_sec=update.get("steps_per_sec"))

    def on_health(self, host: int, info: dict) -> None:
        self.health[host] = info

    def on_host_lost(self, host: int, reason: str) -> None:
        """A host died: its runs fail with the reason, a new host takes its place."""
        with self._lock:
            if self._closing:
                return
            lost = [k for k, h in self._where.items() if h == host]
            log.error("training host %d lost (%s); %d run(s) failed", host, reason, len(lost))
            for key in lost:
                self._where.pop(key, None)
                self.scheduler.remove(key, host)
                run = self._runs.get(key)
                if run is not None:
                    run.fail(f"the training process stopped unexpectedly ({reason}); other "
                             "runs are not affected. Press Restart to train this run again.")
            self.scheduler.hosts[host].alive = False
        try:
            channel = self._make_channel(host, self)
        except Exception:
            log.exception("could not start a new training host %d", host)
            return
        with self._lock:
            self.channels[host] = channel
            self.scheduler.hosts[host].alive = True
            self.scheduler.hosts[host].placements.clear()
            self._admit()

    # -- scheduling
    def _admit(self) -> None:
        for run in list(self._queue):
            host = self.scheduler.choose_host(run.config, run.pace)
            if host is None:
                continue
            cmd = self._start_cmds.pop(run.key)
            self._queue.remove(run)
            self._where[run.key] = host
            placed = self.scheduler.place(run.key, host, run.config, run.pace,
                                          run.config.steps)
            placed.running = not cmd.get("paused")
            run.host = host
            run.set_queue(None, None)
            if run.status == "queued":
                run.record.status = "loading"
            self.channels[host].send(cmd)
        self._update_queue()

    def _update_queue(self) -> None:
        waits = self.scheduler.estimated_waits(len(self._queue))
        for i, (run, wait) in enumerate(zip(self._queue, waits)):
            run.set_queue(i + 1, wait)

    def _housekeeping(self) -> None:
        while not self._closing:
            self._wake.wait(HOUSEKEEPING_SECONDS)
            self._wake.clear()
            if self._closing:
                return
            now = time.monotonic()
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                timeout = run.idle_timeout
                if timeout is None or not run.alive:
                    continue
                deserted = run.had_viewers and not run.viewer_ids()  # every viewer left
                if not deserted and now - run.last_seen <= timeout:
                    continue
                if run.status == "queued":
                    run.stop("stopped: nobody was watching")
                elif run.status in ("running", "loading"):
                    log.info("run nobody watches, pausing: %s", run.key[:80])
                    run.pause(by="idle")
            with self._lock:
                self._admit()
