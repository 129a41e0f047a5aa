"""Every allowed value of every setting trains, or is refused when it is set with a ValueError
naming the field (never a run that fails later): its minimum, its maximum and a middle value
(every choice of a choice setting), each over a small fast config, a few steps each."""
from __future__ import annotations

import math

import pytest

from bn_core.config import SETTINGS, RunConfig
from bn_core.data.mnist import available_sources
from bn_core.engine.training import Run, check_config

from conftest import toy_config, wait_until

pytestmark = pytest.mark.usefixtures("no_leaked_threads")

STEPS_SEEN = 3  # a run that took this many steps without failing trains


def middle(spec):
    """A value between the ends: the geometric mean on a log scale."""
    if spec.log:
        value = math.sqrt(spec.lo * spec.hi)
    else:
        value = (spec.lo + spec.hi) / 2
    return int(value) if spec.kind is int else value


def values_of(spec) -> list:
    if spec.kind is bool:
        return [False, True]
    if spec.kind is tuple:
        if spec.choices is not None:
            return [(c,) for c in spec.choices] + [tuple(spec.choices)]
        mid = (spec.lo + spec.hi) / 2
        return [(spec.lo,), (spec.hi,), (spec.lo, mid, spec.hi)]
    if spec.choices is not None:
        return list(spec.choices)
    return [spec.kind(spec.lo), middle(spec), spec.kind(spec.hi)]


MISSING = {source for source, folder in available_sources().items() if folder is None}
CASES = [(name, value) for name, spec in SETTINGS.items() for value in values_of(spec)
         if not (name == "dataset" and value in MISSING)]


@pytest.mark.parametrize("name,value", CASES, ids=[f"{n}={v!r}" for n, v in CASES])
def test_an_allowed_value_trains_or_is_refused_naming_the_field(name, value):
    base = toy_config(steps=40, probe_every=2, eval_every=2).to_dict()
    try:
        config = RunConfig.from_dict({**base, name: value})
        check_config(config)
    except ValueError as exc:  # refused where it is set: the message names the field
        assert str(exc).split(":")[0] in SETTINGS, str(exc)
        return
    run = Run(config).start()
    try:
        wait_until(lambda: run.snapshot().step >= STEPS_SEEN or not run.snapshot().live,
                   timeout=120)
        snap = run.snapshot()
        assert snap.status != "failed", snap.message
        assert snap.step >= min(STEPS_SEEN, config.steps) or snap.status == "finished"
    finally:
        run.stop("test done", wait=10)
