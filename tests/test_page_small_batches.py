"""The "BN, LayerNorm and GroupNorm at tiny batches" page: its defaults are the lesson's sweep (one
run per batch size, 2 to 128), the sizes shown choose the runs, the run shown in detail does not
restart anything, and its chart and sentences carry the finished runs' numbers."""
from __future__ import annotations

import numpy as np
from pagetest import (  # noqa: F401  (clean_registry: autouse fixture)
    chart_titled,
    clean_registry,
    decoded,
    no_exceptions,
    open_page,
    poll,
    widget,
)

import bnlab_ui.core as core
from bn_core.lessons import small_batches as sb

PAGE = "pages/11_Small_batches.py"
QUICK = {"sizes": "64,128"}   # the two shortest runs of the sweep (124 and 62 steps)


def runs():
    return sorted(core.get_registry().runs(), key=lambda r: r.config.batch_size)


def keys(configs) -> list[dict]:
    return [{**c.to_dict(), "pace": 0} for c in configs]


def page_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_defaults_are_the_lessons_sweep_of_seven_batch_sizes():
    at = open_page(PAGE)
    no_exceptions(at)
    got = runs()
    assert [r.config.batch_size for r in got] == list(sb.SWEEP_BATCH_SIZES)
    assert keys(r.config for r in got) == keys(sb.sweep_configs())
    assert all(r.config.nets == sb.SWEEP_NETS for r in got)


def test_sizes_choose_the_runs_and_the_detail_view_restarts_nothing():
    at = open_page(PAGE, QUICK)
    no_exceptions(at)
    assert [r.config.batch_size for r in runs()] == [64, 128]
    before = {r.key for r in runs()}
    widget(at, "detail", "view").set_value("128").run()
    no_exceptions(at)
    assert {r.key for r in runs()} == before
    widget(at, "lr").set_value(0.05).run()
    no_exceptions(at)
    new = [r for r in runs() if r.key not in before]
    assert [r.config.batch_size for r in new] == [64, 128]
    old = [r for r in runs() if r.key in before]
    assert all(n.config.effective_lr == o.config.effective_lr / 2 for n, o in zip(new, old))


def test_the_chart_and_sentences_carry_the_finished_runs():
    at = open_page(PAGE, QUICK)
    poll(at, 300, until=lambda a: all(r.snapshot().status == "finished" for r in runs()))
    at.run()
    no_exceptions(at)
    snaps = [r.snapshot() for r in runs()]
    assert all(s.status == "finished" for s in snaps), [s.status for s in snaps]
    points = [sb.sweep_point(s) for s in snaps]
    chart = chart_titled(at, "Held-out accuracy by batch size")
    lines = {t["name"]: (decoded(t["x"]), decoded(t["y"])) for t in chart["data"]}
    for name in sb.SWEEP_NETS:
        x, y = lines[next(k for k in lines if k.startswith(
            {"bn": "BN", "layernorm": "LayerNorm", "groupnorm": "GroupNorm"}[name]))]
        assert list(x) == [64, 128]
        assert np.allclose(y, [p.nets[name].heldout_acc for p in points], atol=1e-6)
    text = page_text(at)
    assert sb.sweep_progress(points) in text
    for line in sb.findings(points):
        if not line.startswith(("**BN's two modes", "BN at batch")):
            assert line in text, line
