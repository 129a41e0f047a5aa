"""The in-process backend: training hosts are threads of this process (tests, the command
line). The web app never uses it: its training would share the GIL with every page."""
from __future__ import annotations

import queue
import threading

from bn_core.engine.backends.pool import HostPool
from bn_core.engine.host import TrainingHost


class ThreadHost:
    """A TrainingHost serving commands from a queue in its own thread."""

    def __init__(self, host_id: int, pool: HostPool):
        self.id = host_id
        self.inbox: queue.Queue = queue.Queue()
        self.host = TrainingHost(emit=lambda key, update: pool.on_update(host_id, key, update),
                                 report=lambda info: pool.on_health(host_id, info))
        self._closed = False
        self.thread = threading.Thread(target=self.host.serve,
                                       args=(self._next_commands, lambda: self._closed),
                                       name=f"bnlab-host-{host_id}", daemon=True)
        self.thread.start()

    def _next_commands(self, timeout: float) -> list:
        try:
            first = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return []
        cmds = [first]
        while True:
            try:
                cmds.append(self.inbox.get_nowait())
            except queue.Empty:
                return cmds

    def send(self, cmd: dict) -> None:
        self.inbox.put(cmd)

    def close(self) -> None:
        self.inbox.put({"op": "shutdown"})
        self.inbox.put({"op": "exit"})
        self.thread.join(10)
        self._closed = True


class InProcessBackend(HostPool):
    """`n_hosts` training threads in this process behind the CPU scheduler."""

    name = "inprocess"

    def __init__(self, n_hosts: int = 1, **scheduler_options):
        super().__init__(n_hosts, ThreadHost, **scheduler_options)
