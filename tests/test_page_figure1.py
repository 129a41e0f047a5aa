"""The Figure 1 page (T4): it loads, its controls change what is trained, and its charts carry
the run's data (BN ahead of the plain net early on)."""
import json

import numpy as np
from pagetest import (
    chart_specs,
    clean_registry,  # noqa: F401  (autouse fixture)
    decoded,
    no_exceptions,
    open_page,
    poll,
    run_key,
    trace_points,
    widget,
)

from bn_core.data.mnist import available_sources

PAGE = "pages/1_Figure_1_live.py"


def test_defaults_are_the_papers_net():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert (key["dataset"], key["depth"], key["width"], key["activation"], key["batch_size"]) \
        == ("mnist-subset", 3, 100, "sigmoid", 60)
    assert key["percentiles"] == [15.0, 50.0, 85.0]
    assert 1000 <= key["steps"] <= 5000  # seconds, not minutes
    assert not at.error


def test_url_settings_change_the_run_and_view_settings_do_not():
    at = open_page(PAGE, {"steps": "200", "lrx": "5", "unit": "7", "pct": "5,50,95",
                          "bin": "1", "act": "tanh", "init": "0.5", "batch": "30"})
    no_exceptions(at)
    key = run_key(at)
    assert key["steps"] == 200 and key["lr_multiplier"] == 5.0 and key["probe_unit"] == 7
    assert key["percentiles"] == [5.0, 50.0, 95.0] and key["binarize"] is True
    assert key["activation"] == "tanh" and key["init_scale"] == 0.5 and key["batch_size"] == 30
    before = run_key(at)
    widget(at, "layer", "view").set_value(1).run()
    widget(at, "pooled", "view").set_value(True).run()
    no_exceptions(at)
    assert run_key(at) == before  # layer and pooled only change what is drawn


def test_widgets_change_the_run_key():
    at = open_page(PAGE, {"steps": "200"})
    widget(at, "probe_unit").set_value(12).run()
    assert run_key(at)["probe_unit"] == 12
    widget(at, "percentiles", "cfg").set_value("10,50,90").run()
    assert run_key(at)["percentiles"] == [10.0, 50.0, 90.0]
    no_exceptions(at)


def test_only_available_data_sets_are_offered():
    sources = available_sources()
    at = open_page(PAGE, {"steps": "200"})
    box = widget(at, "dataset")
    assert [o for o in box.options] == [s for s, f in sources.items() if f] or \
        len(box.options) == sum(1 for f in sources.values() if f)
    missing = [s for s, f in sources.items() if f is None]
    captions = " ".join(c.value for c in at.sidebar.caption)
    for source in missing:
        assert "not on this server" in captions


def test_bad_url_values_are_clamped_with_a_notice():
    sources = available_sources()
    absent = next((s for s, f in sources.items() if f is None), "no-such-set")
    at = open_page(PAGE, {"data": absent, "unit": "500", "steps": "200"})
    no_exceptions(at)
    key = run_key(at)
    assert key["dataset"] == "mnist-subset" and key["probe_unit"] == 99
    notices = " ".join(w.value for w in at.warning)
    assert "data=" in notices and "unit=" in notices


def test_paper_length_button_sets_50000_steps():
    at = open_page(PAGE, {"steps": "200"})
    at.button[[b.label for b in at.button].index("Paper length: 50,000 steps")].click().run()
    no_exceptions(at)
    assert run_key(at)["steps"] == 50_000
    assert at.query_params["steps"] in ("50000", ["50000"])


def test_charts_carry_the_run_and_bn_leads_at_step_300():
    at = open_page(PAGE, {"steps": "300"})

    def done(a):
        import bnlab_ui.core as core

        return core.get_registry().runs()[-1].snapshot().status == "finished"

    poll(at, 50, until=done)
    at.run()
    no_exceptions(at)
    specs = chart_specs(at)
    assert len(specs) == 2
    acc, bands = specs
    assert trace_points(acc) > 0 and trace_points(bands) > 0
    by_name = {t["name"]: decoded(t["y"]) for t in acc["data"]}
    plain, bn = by_name["Plain"], by_name["BN"]
    assert np.all((plain >= 0) & (plain <= 1)) and np.all((bn >= 0) & (bn <= 1))
    assert bn[-1] > plain[-1] + 0.1  # the early gap of Figure 1 (a)
    text = " ".join(m.value for m in at.markdown)
    assert "at step 300" in text and "wandering over a range of" in text
    from bn_core.figures.figure1_page import MARK_STEP
    from bn_core.lessons import figure1

    import bnlab_ui.core as core
    snap = core.get_registry().runs()[-1].snapshot()
    assert figure1.accuracy_reading(snap, MARK_STEP) in text
    assert figure1.band_reading(snap, 2, False) in text
    assert "points ahead" in text  # BN's head start, read off this run
    assert "layer 3" in bands["layout"]["title"]["text"]
    json.dumps(specs)  # plain JSON all the way


def test_arriving_from_another_page_keeps_this_pages_defaults():
    at = open_page("app.py")
    at.switch_page("pages/3_Internal_covariate_shift.py").run()
    at.switch_page("pages/1_Figure_1_live.py").run()
    no_exceptions(at)
    key = run_key(at)
    assert (key["activation"], key["lr"], key["batch_size"], key["init_scale"]) == \
        ("sigmoid", 0.5, 60, 1.0)
    assert key["steps"] >= 1000 and not at.warning


def test_x30_says_what_this_run_shows_not_the_stock_text():
    import bnlab_ui.core as core
    from bn_core.figures.figure1_page import MARK_STEP
    from bn_core.lessons import figure1

    at = open_page(PAGE, {"steps": "400", "lrx": "30"})
    poll(at, 60, until=lambda a: core.get_registry().runs()[-1].snapshot().status == "finished")
    at.run()
    no_exceptions(at)
    snap = core.get_registry().runs()[-1].snapshot()
    text = " ".join(m.value for m in at.markdown)
    reading = figure1.accuracy_reading(snap, MARK_STEP)
    assert reading and reading in text
    plain = snap.nets["plain"]
    if plain.status == "diverged":
        assert "plain net **diverged" in text
    elif float(plain.evals["heldout_acc"][-1]) <= 0.15:
        assert "plain net is **at chance**" in text
    assert "x1 again" in text and "Look for" not in text


def test_the_page_is_on_the_lesson_frame_only():
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / PAGE).read_text()
    assert "ui.Lesson(" in source and "lesson.live(" in source
    for old in ("ui.page_header", "ui.run_controls", "ui.live_view", "ui.status_line",
                "st.plotly_chart", "plotly.graph_objects"):
        assert old not in source, old
