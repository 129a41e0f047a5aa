"""The worker-process backend (the app's default): training hosts are processes, so training
never shares the web server's GIL.

Each worker is a fresh `python -m bn_core.engine.backends.workers` process (not forked: the
server has threads; and not multiprocessing's spawn, which re-imports the parent's main script),
trains with one torch thread and talks over a socket pair wrapped as a multiprocessing
Connection. No worker outlives the server: a worker exits when its pipe closes (the
server ended, however it ended), when its parent process is gone (checked every
PARENT_CHECK_SECONDS), or when told to; Ctrl-C is left to the server, which then closes the
pipes. A worker that dies is noticed by its receiving thread: its runs fail with the reason and
a new worker takes its place.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection, Pipe
from pathlib import Path

from bn_core.engine.backends.pool import HostPool

log = logging.getLogger("bn_core.workers")

PARENT_CHECK_SECONDS = 0.25
DEFAULT_MEMORY_MIB = float(os.environ.get("BNLAB_WORKER_MEMORY_MIB", 3072))
ROOT = Path(__file__).resolve().parents[3]


def worker_main(conn, parent_pid: int, memory_limit_mib: float | None, host_id: int) -> None:
    """A worker process: serve a TrainingHost over `conn` until told to exit or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server handles Ctrl-C and closes us
    import torch

    torch.set_num_threads(1)
    from bn_core.engine.host import TrainingHost

    def orphan_watch():
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=orphan_watch, name="bnlab-orphan-watch", daemon=True).start()
    lock = threading.Lock()

    def send(message) -> None:
        with lock:
            try:
                conn.send(message)
            except (OSError, EOFError):
                os._exit(0)  # the server is gone

    host = TrainingHost(emit=lambda key, update: send(("update", key, update)),
                        memory_limit_mib=memory_limit_mib,
                        report=lambda info: send(("health", info)))
    closed = {"now": False}

    def next_commands(timeout: float) -> list:
        cmds = []
        try:
            if conn.poll(timeout):
                while True:
                    cmds.append(conn.recv())
                    if not conn.poll(0):
                        break
        except (EOFError, OSError):
            closed["now"] = True
            return [{"op": "exit"}]
        return cmds

    send(("ready", os.getpid()))
    host.serve(next_commands, lambda: closed["now"])


class ProcessHost:
    """One worker process and the thread that receives its updates."""

    def __init__(self, host_id: int, pool: HostPool, memory_limit_mib: float | None = None):
        self.id, self.pool = host_id, pool
        parent, child = Pipe(duplex=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bn_core.engine.backends.workers", "--fd",
             str(child.fileno()), "--parent", str(os.getpid()), "--host", str(host_id),
             "--memory-mib", str(memory_limit_mib or DEFAULT_MEMORY_MIB)],
            pass_fds=(child.fileno(),), cwd=ROOT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)})
        child.close()
        self.conn = parent
        self.pid = self.proc.pid
        self.ready = threading.Event()
        # Commands leave through a queue and a thread of their own, in the order given, and
        # `send` never blocks: the pool calls it under its lock, and a blocking send there
        # deadlocked once both pipes were full (the worker waiting to hand over updates, the
        # receiving thread waiting for the pool's lock to apply them).
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._closing = False
        self.rx = threading.Thread(target=self._receive, name=f"bnlab-worker-rx-{host_id}",
                                   daemon=True)
        self.tx = threading.Thread(target=self._transmit, name=f"bnlab-worker-tx-{host_id}",
                                   daemon=True)
        self.rx.start()
        self.tx.start()

    def send(self, cmd: dict) -> None:
        self._outbox.put(cmd)

    def _transmit(self) -> None:
        while True:
            cmd = self._outbox.get()
            if cmd is None:
                return
            try:
                self.conn.send(cmd)
            except (OSError, EOFError, ValueError):
                return  # the receiving thread reports the dead worker

    def _receive(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that does not unpickle: log it, carry on
                log.exception("bad message from worker %d", self.id)
                continue
            kind = message[0]
            if kind == "update":
                self.pool.on_update(self.id, message[1], message[2])
            elif kind == "health":
                self.pool.on_health(self.id, message[1])
            elif kind == "ready":
                self.ready.set()
        if self._closing:
            return
        try:
            code = self.proc.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            reason = f"worker process {self.pid} was killed by {name}"
        else:
            reason = f"worker process {self.pid} exited with code {code}"
        self.pool.on_host_lost(self.id, reason)

    def close(self) -> None:
        self._closing = True
        self.send({"op": "shutdown"})
        self.send({"op": "exit"})
        self.send(None)  # the transmitting thread ends after these
        self.tx.join(5)
        for stop in (None, self.proc.terminate, self.proc.kill):
            if stop is not None:
                stop()
            try:
                self.proc.wait(5)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            self.conn.close()
        except OSError:
            pass
        self.rx.join(3)


class WorkerBackend(HostPool):
    """`n_workers` training processes behind the CPU scheduler."""

    name = "workers"

    def __init__(self, n_workers: int | None = None, memory_limit_mib: float | None = None,
                 **scheduler_options):
        n = n_workers or max(1, os.cpu_count() or 1)
        super().__init__(n, lambda i, pool: ProcessHost(i, pool, memory_limit_mib),
                         **scheduler_options)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has started (imported torch); returns whether they have."""
        deadline = time.monotonic() + timeout
        return all(ch.ready.wait(max(0.0, deadline - time.monotonic())) for ch in self.channels)

    def pids(self) -> list[int]:
        return [ch.pid for ch in self.channels]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A BN Lab training worker (started by the server).")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--host", type=int, default=0)
    parser.add_argument("--memory-mib", type=float, default=DEFAULT_MEMORY_MIB)
    args = parser.parse_args()
    worker_main(Connection(args.fd), args.parent, args.memory_mib, args.host)
