"""The Ray backend: every run is a Ray actor named by its run key, so several BN Lab servers
behind a load balancer share one run per config, and Ray places the runs on the cluster's nodes.

Set BNLAB_BACKEND=ray and RAY_ADDRESS (e.g. `ray://head:10001` or `head:6379`). An actor holds a
TrainingHost with its one run, the run's RunRecord (the truth every server mirrors) and a short
log of recent updates: a server polls it with the last sequence number it has seen and gets the
updates since then, or the whole record when it is new to the run (or fell behind). Actors are
detached, so a run outlives the server that started it; an actor no server has polled for
ACTOR_IDLE_SECONDS stops itself, leaving nothing behind on the cluster.

An actor holds its CPU reservation for as long as it lives (Ray cannot change an actor's
resources once it is placed), so an actor whose run has ended (finished, stopped or failed)
exits ENDED_LINGER seconds later: the servers mirroring it keep the record and show it as before,
and a Restart (from any server) makes a new actor under the same name, which the other servers
find and mirror again. An un-paced run reserves UNPACED_CPU of a core: a few share one, as the
OS shares its time, instead of each holding a whole core of a small cluster.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import os
import queue
import threading
import time
from pathlib import Path

from bn_core.engine.budget import estimate_step_seconds
from bn_core.engine.records import ENDED_STATUSES, RunRecord

log = logging.getLogger("bn_core.ray")

NAMESPACE = "bnlab"
POLL_SECONDS = 0.25          # how often a server asks each of its runs for news
POLL_TIMEOUT = 5.0           # a poll that takes longer leaves the run "waiting for the cluster"
WATCH_FRESH = 20 * POLL_SECONDS  # a server that polled this recently is still there
MAX_SERVERS = 64             # servers an actor remembers (the oldest poll is forgotten)
ACTOR_IDLE_SECONDS = float(os.environ.get("BNLAB_RAY_ACTOR_IDLE", 120))
LOG_LENGTH = 512             # recent updates an actor keeps for servers polling it
REORDER_WAIT = 2.0           # how long a command that overtook an earlier one waits for it
ENDED_LINGER = float(os.environ.get("BNLAB_RAY_ENDED_LINGER", 30))  # an ended run's actor, then
REATTACH_SECONDS = 2.0       # how often a server looks for a new actor of a run it shows ended
UNPACED_CPU = 0.25           # the CPU an un-paced run reserves
ROOT = Path(__file__).resolve().parents[3]
RUNTIME_EXCLUDES = [".git", ".hypothesis", ".pytest_cache", "artifacts", "out", "docs", "tests",
                    "**/__pycache__", "*.png"]


def actor_name(key: str) -> str:
    return "bnlab-run-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def cpu_demand(config, pace: float) -> float:
    """The CPU a run asks Ray for: what its pace costs, or UNPACED_CPU if it has none."""
    if not pace:
        return UNPACED_CPU
    return round(min(1.0, max(0.01, pace * estimate_step_seconds(config) * 1.2)), 3)


class RunActorImpl:
    """The body of a run actor (also usable without Ray, in tests of its logic)."""

    def __init__(self, key: str, config, capacity: int, idle_seconds: float = ACTOR_IDLE_SECONDS,
                 linger: float = ENDED_LINGER):
        import torch

        torch.set_num_threads(1)
        from bn_core.engine.host import TrainingHost

        self.key, self.config, self.capacity = key, config, capacity
        self.idle_seconds, self.linger = idle_seconds, linger
        self.ended_at: float | None = None  # when the run last ended (None: it has not, or restarted)
        self.lock = threading.Lock()
        self.record = RunRecord(0, capacity)
        # attempts count on from when the actor was made, so the attempts of an actor made
        # anew for the same run (its run ended and it exited) never repeat an earlier one's
        # (a server mirroring both tells their updates apart by attempt)
        self.first_attempt = int(time.time() * 1000)
        self.log: collections.deque = collections.deque(maxlen=LOG_LENGTH)
        self.seq = 0
        self.last_poll = time.monotonic()
        self.inbox: queue.Queue = queue.Queue()
        # A threaded actor may run two calls from one server out of order (Ray orders calls
        # only for single-threaded actors), so each server numbers its commands per run and
        # the actor applies them in that order: pause, resume, pause ends paused.
        self.expected: dict = {}      # sender -> the next seq to apply
        self.watched: dict = {}       # server -> (when it last polled, its viewers then)
        self.held: dict = {}          # sender -> {seq: (since, cmd)} that came too early
        self.host = TrainingHost(emit=self._on_update)
        self.closed = False
        self.thread = threading.Thread(target=self.host.serve, name="bnlab-actor-host",
                                       args=(self._next_commands, lambda: self.closed),
                                       daemon=True)
        self.thread.start()

    def _next_commands(self, timeout: float) -> list:
        try:
            cmds = [self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()]
        except queue.Empty:
            return []
        while True:
            try:
                cmds.append(self.inbox.get_nowait())
            except queue.Empty:
                return cmds

    def _on_update(self, key: str, update: dict) -> None:
        with self.lock:
            if update.get("attempt") != self.record.attempt:
                return
            self.record.apply(update)
            self.seq += 1
            self.log.append((self.seq, update))
            self._note_end()

    def _note_end(self) -> None:
        """Keep `ended_at` in step with the record's status (the lock is held)."""
        if self.record.status not in ENDED_STATUSES:
            self.ended_at = None
        elif self.ended_at is None:
            self.ended_at = time.monotonic()

    def command(self, cmd: dict) -> int:
        """Take a server's command, in the order that server sent it (`sender`, `order`);
        returns the attempt it applies to."""
        with self.lock:
            self.last_poll = time.monotonic()
            sender, seq = cmd.get("sender"), cmd.get("order")
            if sender is None or seq is None:
                return self._apply(cmd)
            held = self.held.setdefault(sender, {})
            held[seq] = (time.monotonic(), cmd)
            return self._release(sender)

    def _release(self, sender) -> int:
        """Apply the sender's held commands that are next in its order (all of them, oldest
        first, once the earliest has waited REORDER_WAIT for a command that never came)."""
        held = self.held.get(sender, {})
        expected = self.expected.get(sender, 1)
        for seq in [s for s in held if s < expected]:  # late: its turn has passed
            del held[seq]
        if held and expected not in held and (
                time.monotonic() - min(t for t, _ in held.values()) > REORDER_WAIT):
            expected = min(held)
        while expected in held:
            self._apply(held.pop(expected)[1])
            expected += 1
        self.expected[sender] = expected
        if not held:
            self.held.pop(sender, None)
        return self.record.attempt

    def _apply(self, cmd: dict) -> int:
        """Apply one command (the lock is held)."""
        cmd = {k: v for k, v in cmd.items() if k not in ("sender", "order")}
        if cmd["op"] == "start":
            if self.record.status in ("queued", "loading", "running", "paused"):
                return self.record.attempt  # another server started it already
            attempt = max(self.record.attempt + 1, self.first_attempt)
            self.record = RunRecord(attempt, self.capacity)
            self.record.status = "loading"
            self.record.pace = cmd.get("pace") or 0.0
            self.log.clear()
            self.seq += 1
            cmd = {**cmd, "attempt": attempt}
        else:
            cmd = {**cmd, "attempt": self.record.attempt}
            if cmd["op"] == "stop":
                self.record.status = "stopped"
                self.record.message = cmd.get("reason", "stopped")
            elif cmd["op"] == "pause" and self.record.status == "running":
                if cmd.get("by") == "idle" and self._watched_elsewhere(cmd.get("server")):
                    return self.record.attempt  # the viewers of another server still watch
                self.record.status = "paused"
            elif cmd["op"] == "resume" and self.record.status == "paused":
                self.record.status = "running"
        attempt = cmd["attempt"]
        self._note_end()
        self.inbox.put(cmd)
        return attempt

    def _watched_elsewhere(self, server) -> bool:
        """Whether a server other than `server` polled lately with viewers on its page: one
        server's last viewer leaving must not pause the run another server's class watches."""
        now = time.monotonic()
        return any(viewers and now - seen <= WATCH_FRESH
                   for other, (seen, viewers) in self.watched.items() if other != server)

    def poll(self, since: int, attempt: int, server: str | None = None,
             viewers: int = 0) -> tuple:
        """("delta", seq, updates) since `since` for the same attempt, else ("full", seq,
        record state). `server` polls with `viewers` watching the run there."""
        with self.lock:
            self.last_poll = time.monotonic()
            if server is not None:
                self.watched[server] = (self.last_poll, int(viewers))
                if len(self.watched) > MAX_SERVERS:  # servers gone long ago
                    del self.watched[min(self.watched, key=lambda s: self.watched[s][0])]
            for sender in list(self.held):  # commands left waiting for one that never came
                self._release(sender)
            if attempt == self.record.attempt and self.log and since >= self.log[0][0] - 1:
                return "delta", self.seq, [u for s, u in self.log if s > since]
            if attempt == self.record.attempt and not self.log and since == self.seq:
                return "delta", self.seq, []
            return "full", self.seq, self.record.state()

    def idle(self) -> bool:
        return time.monotonic() - self.last_poll > self.idle_seconds

    def ended(self) -> bool:
        """Whether the run ended `linger` seconds ago and has not been restarted since."""
        with self.lock:
            return self.ended_at is not None and time.monotonic() - self.ended_at > self.linger

    def where(self) -> dict:
        return {"pid": os.getpid(), "node": os.environ.get("RAY_NODE_ID", "")}

    def close(self) -> None:
        self.inbox.put({"op": "shutdown"})
        self.inbox.put({"op": "exit"})
        self.closed = True
        self.thread.join(5)


def _make_actor_class():
    import ray

    @ray.remote(max_concurrency=4)
    class RunActor(RunActorImpl):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            import ray as _ray

            self.node = _ray.get_runtime_context().get_node_id()
            threading.Thread(target=self._reaper, name="bnlab-actor-reaper", daemon=True).start()

        def where(self) -> dict:
            return {"pid": os.getpid(), "node": self.node}

        def _reaper(self) -> None:
            import ray as _ray

            while True:
                time.sleep(1.0)
                why = ("no server polled for %.0f s" % self.idle_seconds if self.idle() else
                       "its run ended %.0f s ago" % self.linger if self.ended() else None)
                if why:
                    log.info("run actor %s: %s, exiting", actor_name(self.key)[:24], why)
                    self.close()
                    _ray.actor.exit_actor()

    return RunActor


class RayBackend:
    """Runs as named Ray actors; one poller thread per server mirrors their records."""

    name = "ray"
    shares_runs = True  # a run is the cluster's: a server that exits leaves it to the others

    def __init__(self, address: str | None = None, capacity: int | None = None):
        import ray

        from bn_core.engine.history import DEFAULT_CAPACITY

        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address or os.environ.get("RAY_ADDRESS") or "auto",
                     namespace=NAMESPACE, log_to_driver=False,
                     runtime_env={"working_dir": str(ROOT), "excludes": RUNTIME_EXCLUDES},
                     ignore_reinit_error=True)
        self.RunActor = _make_actor_class()
        self.capacity = capacity or DEFAULT_CAPACITY
        self._lock = threading.Lock()
        self._attached: dict = {}     # key -> (run, actor handle)
        self._cursor: dict = {}       # key -> last seq seen
        self._waiting: dict = {}      # key -> since when the actor has not answered
        self._sent: dict = {}         # key -> [sender token, commands sent] (the actor's order)
        self._ended: dict = {}        # key -> run shown ended, whose actor has exited
        self._looked = 0.0            # when this server last looked for their new actors
        self.server = os.urandom(8).hex()  # this server, to the actors it polls
        self._closing = False
        self._thread = threading.Thread(target=self._poll_loop, name="bnlab-ray-poll",
                                        daemon=True)
        self._thread.start()

    # -- the backend interface
    def _actor(self, run):
        with self._lock:
            entry = self._attached.get(run.key)
        if entry is not None and entry[0] is run:
            return entry[1]
        actor = self.RunActor.options(
            name=actor_name(run.key), namespace=NAMESPACE, get_if_exists=True,
            lifetime="detached", num_cpus=cpu_demand(run.config, run.pace),
        ).remote(run.key, run.config, self.capacity, linger=ENDED_LINGER)
        with self._lock:
            self._attached[run.key] = (run, actor)
            self._ended.pop(run.key, None)
            self._cursor[run.key] = -1
            self._waiting.setdefault(run.key, time.monotonic())
        return actor

    def attach(self, run) -> None:
        """Mirror a run that may already train on the cluster (another server's)."""
        self._actor(run)

    def _stamped(self, run, cmd: dict) -> dict:
        """The command numbered in this server's order for the run."""
        with self._lock:
            sent = self._sent.setdefault(run.key, [os.urandom(8).hex(), 0])
            sent[1] += 1
            return {**cmd, "sender": sent[0], "order": sent[1], "server": self.server}

    def submit(self, run, cmd: dict) -> None:
        self._actor(run).command.remote(self._stamped(run, cmd))

    def command(self, run, cmd: dict) -> None:
        self._actor(run).command.remote(self._stamped(run, cmd))

    def _detach(self, run) -> bool:
        """Stop mirroring `run` through its actor (the lock is held); whether it was attached.
        A new actor numbers this server's commands afresh."""
        entry = self._attached.get(run.key)
        if entry is None or entry[0] is not run:
            return False
        del self._attached[run.key]
        for table in (self._sent, self._cursor, self._waiting):
            table.pop(run.key, None)
        return True

    def forget(self, run) -> None:
        with self._lock:
            self._detach(run)
            if self._ended.get(run.key) is run:
                del self._ended[run.key]

    def ready(self) -> bool:
        return True

    def queued(self) -> int:
        with self._lock:
            return len(self._waiting)

    def rows(self) -> list[dict]:
        """One row per node of the cluster, with the runs this server mirrors on it."""
        try:
            nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        except Exception:  # the cluster is unreachable: say so on the status page
            return [{"host": "cluster unreachable", "kind": "ray"}]
        return [{"host": n["NodeID"][:8], "kind": "ray", "alive": n.get("Alive"),
                 "address": n.get("NodeManagerAddress"),
                 "cpus": n.get("Resources", {}).get("CPU")} for n in nodes]

    def where(self, run) -> dict | None:
        with self._lock:
            entry = self._attached.get(run.key)
        if entry is None:
            return None
        try:
            return self.ray.get(entry[1].where.remote(), timeout=POLL_TIMEOUT)
        except Exception:
            return None

    def shutdown(self) -> None:
        """Stop polling. Actors stay: other servers may be showing them; each stops itself
        once nobody polls it."""
        self._closing = True
        self._thread.join(5)
        with self._lock:
            self._attached.clear()
            self._ended.clear()

    # -- mirroring
    def _poll_loop(self) -> None:
        while not self._closing:
            time.sleep(POLL_SECONDS)
            if self._ended and time.monotonic() - self._looked > REATTACH_SECONDS:
                self._look_for_new_actors()
            with self._lock:
                entries = list(self._attached.items())
            if not entries:
                continue
            refs = {}
            for key, (run, actor) in entries:
                refs[key] = (run, actor.poll.remote(self._cursor.get(key, -1), run.attempt,
                                                    self.server, run.viewers))
            ready, _ = self.ray.wait([r for _, r in refs.values()], num_returns=len(refs),
                                     timeout=POLL_TIMEOUT)
            ready = set(ready)
            for key, (run, ref) in refs.items():
                if ref not in ready:
                    self._not_answering(key, run)
                    continue
                try:
                    kind, seq, payload = self.ray.get(ref)
                except Exception as exc:  # the actor exited (its run had ended) or was lost
                    if run.status in ENDED_STATUSES:
                        self._actor_exited(key, run)
                    else:
                        self._lost(key, run, exc)
                    continue
                with self._lock:
                    self._waiting.pop(key, None)
                    self._cursor[key] = seq
                if kind == "full":
                    record = RunRecord.from_state(payload)
                    if record.attempt == 0 and run.alive:
                        continue  # a poll the actor answered before this server's start
                    run.adopt(record)
                else:
                    for update in payload:
                        run.apply(update)

    def _not_answering(self, key: str, run) -> None:
        since = self._waiting.setdefault(key, time.monotonic())
        if run.status == "queued":
            run.set_queue(None, None)
            run.record.message = ("waiting for the cluster to find room for this run "
                                  f"({time.monotonic() - since:.0f} s so far)")

    def _actor_exited(self, key: str, run) -> None:
        """The actor of a run this server shows ended has exited (ENDED_LINGER): keep showing
        the record; a Restart here makes a new actor, one made elsewhere is found again."""
        log.info("run %s: its actor exited after the run ended; the record stays", key[:80])
        with self._lock:
            if self._detach(run):
                self._ended[key] = run

    def _look_for_new_actors(self) -> None:
        """Mirror again a run ended here that another server (or this one) has restarted."""
        self._looked = time.monotonic()
        with self._lock:
            ended = list(self._ended.items())
        for key, run in ended:
            try:
                actor = self.ray.get_actor(actor_name(key), namespace=NAMESPACE)
            except Exception:  # no such actor (ValueError), or the cluster did not answer
                continue
            with self._lock:
                if self._ended.get(key) is run and key not in self._attached:
                    del self._ended[key]
                    self._attached[key] = (run, actor)
                    self._cursor[key] = -1

    def _lost(self, key: str, run, exc: Exception) -> None:
        log.error("run actor for %s lost: %s", key[:80], exc)
        self.forget(run)
        run.fail(f"the cluster node training this run went away ({type(exc).__name__}); "
                 "other runs are not affected. Press Restart to train it again.")
