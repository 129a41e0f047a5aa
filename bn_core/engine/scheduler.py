"""Where and when runs train: a scheduler that counts CPU, not runs.

Each training host (a worker process, or a thread in tests) has one core. A paced run costs what
it uses: its pace times its measured CPU per step (estimated from its size until measured). Runs
without a pace are elastic: they share whatever a host's paced runs leave, in fair turns. A run
waits in the queue only when no host has room: paced demand would exceed TARGET_LOAD of a core,
or the host already shares its core among MAX_UNPACED_PER_HOST unpaced runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bn_core.engine.budget import estimate_step_seconds

TARGET_LOAD = 0.85          # paced demand a host may take on (of one core)
MAX_UNPACED_PER_HOST = 4    # unpaced runs sharing one host's core at most
UNPACED_FLOOR = 0.15        # an unpaced run needs at least this much of a core to be worth it


@dataclass
class Placement:
    """What the scheduler knows of one admitted run."""

    key: str
    host: int
    pace: float
    step_cost: float | None     # measured CPU seconds per step (None until measured)
    estimate: float             # estimated CPU seconds per step, from the run's size
    running: bool = True        # False while paused: a paused run costs no CPU
    remaining: int = 0
    steps_per_sec: float = 0.0

    @property
    def cost(self) -> float:
        return self.step_cost if self.step_cost is not None else self.estimate

    @property
    def demand(self) -> float:
        """Fraction of a core this run uses if paced (0 if paused); unpaced runs are elastic."""
        return self.pace * self.cost if (self.running and self.pace) else 0.0

    def seconds_left(self) -> float | None:
        rate = self.pace or self.steps_per_sec
        return self.remaining / rate if rate > 0 else None


@dataclass
class HostState:
    id: int
    alive: bool = True
    placements: dict = field(default_factory=dict)  # key -> Placement

    @property
    def paced_load(self) -> float:
        return sum(p.demand for p in self.placements.values())

    @property
    def unpaced(self) -> int:
        return sum(1 for p in self.placements.values() if p.running and not p.pace)


class CpuScheduler:
    """Admission and placement of runs on hosts (see the module docstring). Not thread-safe:
    the pool calls it under its own lock."""

    def __init__(self, n_hosts: int, target_load: float = TARGET_LOAD,
                 max_unpaced_per_host: int = MAX_UNPACED_PER_HOST):
        self.hosts = [HostState(i) for i in range(n_hosts)]
        self.target_load, self.max_unpaced = target_load, max_unpaced_per_host

    def choose_host(self, config, pace: float) -> int | None:
        """The host a new run should go to, or None if every host is full."""
        estimate = estimate_step_seconds(config)
        best, best_score = None, None
        for h in self.hosts:
            if not h.alive:
                continue
            load = h.paced_load
            if pace:
                need = pace * estimate
                # a paced run bigger than a host can only go to an empty host
                fits = load + need <= self.target_load or (not h.placements and need > 1.0)
                score = load + need + 0.05 * h.unpaced
            else:
                fits = h.unpaced < self.max_unpaced and load <= 1.0 - UNPACED_FLOOR
                score = load + h.unpaced
            if fits and (best_score is None or score < best_score):
                best, best_score = h.id, score
        return best

    def place(self, key: str, host: int, config, pace: float, remaining: int) -> Placement:
        p = Placement(key=key, host=host, pace=pace, step_cost=None,
                      estimate=estimate_step_seconds(config), remaining=remaining)
        self.hosts[host].placements[key] = p
        return p

    def update(self, key: str, host: int, *, step_cost=None, running=None, pace=None,
               remaining=None, steps_per_sec=None) -> None:
        p = self.hosts[host].placements.get(key)
        if p is None:
            return
        if step_cost is not None:
            p.step_cost = step_cost
        if running is not None:
            p.running = running
        if pace is not None:
            p.pace = pace
        if remaining is not None:
            p.remaining = remaining
        if steps_per_sec is not None:
            p.steps_per_sec = steps_per_sec

    def remove(self, key: str, host: int) -> None:
        self.hosts[host].placements.pop(key, None)

    def estimated_waits(self, n_queued: int) -> list[float | None]:
        """Rough seconds until each of the first `n_queued` queued runs could start: the i-th
        waits for the i-th soonest end among the runs training now."""
        ends = sorted(s for h in self.hosts for p in h.placements.values()
                      if p.running and (s := p.seconds_left()) is not None)
        return [ends[i] if i < len(ends) else None for i in range(n_queued)]

    def rows(self) -> list[dict]:
        """One row per host, for the server status page."""
        return [{"host": h.id, "alive": h.alive, "runs": len(h.placements),
                 "paced_load": round(h.paced_load, 3), "unpaced": h.unpaced}
                for h in self.hosts]
