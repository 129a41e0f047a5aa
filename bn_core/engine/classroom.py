"""The class's shared state: what the teacher is showing (page, settings, view), who follows
and who explores, and the prediction round (the open question, its anonymous answers, whether
it is revealed).

It is kept where the runs are kept, so it works with every backend: in this process for the
worker and in-process backends, in one named Ray actor for the Ray backend (every server of a
cluster then sees the same class). Nothing here knows about Streamlit; bnlab_ui/classroom.py
connects pages to it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

FOLLOWER_TIMEOUT = 10.0     # seconds after its last look that a student still counts
MAX_QUESTIONS = 50          # prediction rounds kept per server
MAX_ANSWERS = 500           # answers kept per question (one per student session)
MAX_QUERY_ITEMS = 64        # URL parameters the teacher's view may carry
MAX_TEXT = 300              # characters of any one parameter, page name or answer


def _clip(text) -> str:
    return str(text)[:MAX_TEXT]


@dataclass
class Round:
    """One prediction question put to the class."""

    id: str
    page: str
    question: str
    choices: tuple
    opened: float = field(default_factory=time.time)
    answers: dict = field(default_factory=dict)   # student session -> choice index
    started: bool = False       # the teacher started the run: students may watch
    revealed: bool = False

    def counts(self) -> list[int]:
        out = [0] * len(self.choices)
        for choice in self.answers.values():
            out[choice] += 1
        return out

    def public(self) -> dict:
        """What every page may see: the question and the counts, never who answered what."""
        return {"id": self.id, "page": self.page, "question": self.question,
                "choices": list(self.choices), "answered": len(self.answers),
                "counts": self.counts() if self.revealed else None,
                "started": self.started, "revealed": self.revealed}


class Classroom:
    """The class state of one server (or, behind a Ray actor, of one cluster)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.version = 0
        self.page = ""
        self.query: dict[str, str] = {}
        self.teacher_seen = 0.0
        self.presenting = False
        self.students: dict[str, tuple[float, str]] = {}  # session -> (last seen, mode)
        self.rounds: dict[str, Round] = {}
        self.current: str | None = None

    # -- the teacher
    def present(self, page: str, query: dict) -> int:
        """The teacher's page and its URL parameters; returns the version students follow."""
        query = {_clip(k): _clip(v) for k, v in list(query.items())[:MAX_QUERY_ITEMS]}
        page = _clip(page)
        with self._lock:
            self.teacher_seen = time.monotonic()
            self.presenting = True
            if page != self.page or query != self.query:
                self.page, self.query = page, query
                self.version += 1
            return self.version

    def end_class(self) -> None:
        with self._lock:
            self.presenting = False
            self.current = None
            self.version += 1

    def open_round(self, round_id: str, page: str, question: str, choices) -> None:
        with self._lock:
            self.rounds[round_id] = Round(_clip(round_id), _clip(page), _clip(question),
                                          tuple(_clip(c) for c in choices))
            self.current = round_id
            while len(self.rounds) > MAX_QUESTIONS:
                oldest = min(self.rounds.values(), key=lambda r: r.opened)
                del self.rounds[oldest.id]
            self.version += 1

    def start_round(self) -> None:
        with self._lock:
            if self.current in self.rounds:
                self.rounds[self.current].started = True
                self.version += 1

    def reveal(self) -> None:
        with self._lock:
            if self.current in self.rounds:
                self.rounds[self.current].revealed = True
                self.rounds[self.current].started = True
                self.version += 1

    def close_round(self) -> None:
        with self._lock:
            self.current = None
            self.version += 1

    # -- students
    def answer(self, session: str, round_id: str, choice: int) -> bool:
        """A student's anonymous answer (one per session; the last one counts)."""
        with self._lock:
            rnd = self.rounds.get(round_id)
            if rnd is None or rnd.revealed or not (0 <= int(choice) < len(rnd.choices)):
                return False
            if session not in rnd.answers and len(rnd.answers) >= MAX_ANSWERS:
                return False
            rnd.answers[_clip(session)] = int(choice)
            return True

    def has_answered(self, session: str, round_id: str) -> bool:
        with self._lock:
            rnd = self.rounds.get(round_id)
            return rnd is not None and session in rnd.answers

    def seen(self, session: str, mode: str) -> None:
        """A student's page looked at the class (mode: "following" or "exploring")."""
        with self._lock:
            self.students[_clip(session)] = (time.monotonic(), mode)
            if len(self.students) > 4 * MAX_ANSWERS:
                self._prune()

    def _prune(self) -> None:
        now = time.monotonic()
        for s, (t, _) in list(self.students.items()):
            if now - t > 6 * FOLLOWER_TIMEOUT:
                del self.students[s]

    # -- everyone
    def state(self) -> dict:
        """What a page needs each refresh (small, and free of anyone's answers)."""
        with self._lock:
            self._prune()
            now = time.monotonic()
            recent = [m for t, m in self.students.values() if now - t <= FOLLOWER_TIMEOUT]
            rnd = self.rounds.get(self.current) if self.current else None
            return {"version": self.version, "page": self.page, "query": dict(self.query),
                    "presenting": self.presenting and now - self.teacher_seen < 60.0,
                    "following": recent.count("following"),
                    "exploring": recent.count("exploring"),
                    "round": rnd.public() if rnd else None}


_local: Classroom | None = None
_local_lock = threading.Lock()


def local_classroom() -> Classroom:
    """This process's classroom (worker and in-process backends)."""
    global _local
    with _local_lock:
        if _local is None:
            _local = Classroom()
        return _local


class RayClassroom:
    """The same interface, served by one detached Ray actor shared by every server."""

    def __init__(self):
        import ray

        from bn_core.engine.backends.ray_backend import NAMESPACE

        actor = ray.remote(max_concurrency=8)(Classroom)
        self._ray = ray
        self._actor = actor.options(name="bnlab-classroom", namespace=NAMESPACE,
                                    get_if_exists=True, lifetime="detached",
                                    num_cpus=0).remote()

    def __getattr__(self, name):
        method = getattr(self._actor, name)
        return lambda *a, **kw: self._ray.get(method.remote(*a, **kw), timeout=10)


def classroom_for(backend) -> Classroom | RayClassroom:
    """The classroom kept beside this backend's runs."""
    if getattr(backend, "name", "") == "ray":
        return RayClassroom()
    return local_classroom()
