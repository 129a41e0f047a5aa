"""Replays on a lesson page (bnlab_ui/replays.py): a run's JSON export uploaded in the sidebar is
drawn with the page's own charts and sentences and nothing trains; a malformed file or one from
another page is refused with its message and the live run stays; a starting run is drawn from
the recording that ships with the app until it has records of its own."""
from __future__ import annotations

import numpy as np
import pytest
from pagetest import (chart_specs, chart_titled, clean_registry, decoded, no_exceptions,  # noqa: F401
                      open_page)
from streamlit.testing.v1 import AppTest

from bn_core.engine.training import train_to_end
from bn_core.export import settings_json
from bn_core.lessons.home import HOME_RUN, accuracy_rows

PAGE = "app.py"
STEPS = 240


@pytest.fixture(scope="module")
def recorded():
    """A short run of the home page's settings (another length: a run the page never trains)."""
    return train_to_end(HOME_RUN.replace(steps=STEPS, pace=0.0))


def uploader(at):
    return next(u for u in at.get("file_uploader") if u.key.endswith("|replay:upload"))


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def registry_keys() -> set:
    import bnlab_ui.core as core

    return {r.key for r in core.get_registry().runs()}


def test_an_uploaded_export_is_shown_with_every_chart_and_nothing_trains(recorded):
    at = open_page(PAGE)
    no_exceptions(at)
    assert [b for b in at.button if (b.key or "").endswith("|live:restart")]
    before = registry_keys()
    raw = settings_json(recorded, page=PAGE).encode()
    uploader(at).set_value(("bnlab-home.json", raw, "application/json"))
    at.run()
    no_exceptions(at)
    assert f"**Recorded run** · step {STEPS:,} of {STEPS:,}" in texts(at)
    assert registry_keys() == before, "opening a recording started a run"
    assert not [b for b in at.button if (b.key or "").endswith("|live:restart")]
    acc = chart_titled(at, "Training accuracy of both nets")
    assert len(acc["data"]) == 2
    for trace, (name, net) in zip(acc["data"], recorded.nets.items()):
        assert np.array_equal(decoded(trace["x"]), np.asarray(net.evals["step"], float))
        assert np.allclose(decoded(trace["y"]), net.evals["train_acc"])
    for row in accuracy_rows(recorded):
        assert row in texts(at)
    boundary = chart_specs(at)[0]
    assert boundary["data"]
    # closing it brings back the live run of the page's settings
    next(b for b in at.button if b.key.endswith("|replay:upload:bar")).click()
    at.run()
    no_exceptions(at)
    assert "**Recorded run**" not in texts(at)


@pytest.mark.parametrize("name, raw, words", [
    ("notes.json", b"{ this is not JSON", "is not a JSON file"),
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "exactly one JSON"),
    ("other.json", b'{"format": "something else"}', "no run settings"),
])
def test_a_malformed_upload_says_why_and_the_live_run_stays(name, raw, words):
    at = open_page(PAGE)
    before = registry_keys()
    uploader(at).set_value((name, raw, "application/octet-stream"))
    at.run()
    no_exceptions(at)
    assert words in errors(at), errors(at)
    assert "**Recorded run**" not in texts(at)
    assert registry_keys() == before


def test_an_export_of_another_page_is_sent_there(recorded):
    at = open_page(PAGE)
    raw = settings_json(recorded, page="pages/1_Figure_1_live.py").encode()
    uploader(at).set_value(("bnlab-figure1.json", raw, "application/json"))
    at.run()
    no_exceptions(at)
    assert "recorded on another lesson page" in errors(at)
    assert "**Recorded run**" not in texts(at)


FIRST_PAINT = """
import streamlit as st
from dataclasses import replace
import bnlab_ui as ui
from bn_core.engine.records import RunRecord
from bn_core.engine.run import snapshot_of
from bn_core.lessons.home import HOME_RUN

class Starting:
    config = HOME_RUN

lesson = ui.Lesson("First paint", "A test of the first paint.", page="app.py")
starting = replace(snapshot_of(HOME_RUN, RunRecord(1, 64)), status="loading")
shown = lesson._first_paint([Starting()], [starting])[0]
st.markdown(f"shown step {shown.step}, evaluations {sum(len(v.evals.get('step', ())) for v in shown.nets.values())}")
"""


def test_a_starting_run_is_drawn_from_the_shipped_recording_of_its_settings():
    from bn_core.replay import shipped

    recording = shipped(HOME_RUN)
    assert recording is not None, "the home page's recording does not ship"
    at = AppTest.from_string(FIRST_PAINT, default_timeout=60)
    at.run()
    no_exceptions(at)
    n = sum(len(v.evals["step"]) for v in recording.snapshot().nets.values())
    assert n > 0
    assert f"shown step {HOME_RUN.steps}, evaluations {n}" in texts(at)
    assert any("recorded earlier" in c.value for c in at.caption)
    # another length of the same net has no recording: the starting run is drawn as it is
    other = FIRST_PAINT.replace("config = HOME_RUN", "config = HOME_RUN.replace(steps=999)")
    at = AppTest.from_string(other, default_timeout=60)
    at.run()
    no_exceptions(at)
    assert "shown step 0, evaluations 0" in texts(at)
    assert not any("recorded earlier" in c.value for c in at.caption)


def test_on_a_page_of_several_runs_a_recording_stands_in_for_the_run_of_its_settings():
    from pagetest import poll

    import bnlab_ui.core as core
    from bn_core.lessons import small_batches as sb

    page = "pages/11_Small_batches.py"
    snap = train_to_end(sb.sweep_config(128).replace(pace=0.0))
    at = open_page(page, {"sizes": "64,128"})
    uploader(at).set_value(("bnlab-small-batches-128.json",
                            settings_json(snap, page=page).encode(), "application/json"))
    at.run()
    no_exceptions(at)
    assert f"**Recorded run** · step {snap.step:,} of {snap.step:,}" in texts(at)
    point = sb.sweep_point(snap)

    def recorded_point_drawn(a):
        chart = chart_titled(a, "Held-out accuracy by batch size")
        for trace in chart["data"]:
            if trace["name"] == "BN":   # finished runs only: the recording is one of them
                x, y = decoded(trace["x"]), decoded(trace["y"])
                return 128 in x and np.isclose(y[list(x).index(128)],
                                               point.nets["bn"].heldout_acc, atol=1e-6)
        return False
    poll(at, 120, until=recorded_point_drawn)
    assert recorded_point_drawn(at)
    # the batch-64 run still trains live beside it, under its control bar
    assert 64 in [r.config.batch_size for r in core.get_registry().runs()]
    assert [b for b in at.button if (b.key or "").endswith("|live:restart")]
    # a recording of settings the page does not compare now is said so, and the live runs stay
    other = train_to_end(sb.sweep_config(128).replace(seed=5, pace=0.0))
    uploader(at).set_value(("other.json", settings_json(other, page=page).encode(),
                            "application/json"))
    at.run()
    no_exceptions(at)
    assert any("none of the runs this page compares" in w.value for w in at.warning)


def test_an_export_names_its_page_only_on_a_page_of_the_frame():
    script = """
import streamlit as st
import bnlab_ui as ui
from bnlab_ui import replays
if st.session_state.get("old"):
    ui.page_header("An old page", "T1", "Not on the frame.")
else:
    ui.Lesson("A lesson", "On the frame.", page="pages/10_Which_part_of_BN.py")
st.markdown(f"export page: {replays.current_page()}")
"""
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    no_exceptions(at)
    assert "export page: pages/10_Which_part_of_BN.py" in texts(at)
    at.session_state["old"] = True   # the same session moves on to a page off the frame
    at.run()
    no_exceptions(at)
    assert "export page: None" in texts(at)
