"""The "Your own data" page: its defaults train on the example, a good CSV upload becomes the
page's data set (named by its content, in the URL), a bad one shows its message and changes
nothing, and the charts and sentences carry the run's own numbers."""
from __future__ import annotations

import numpy as np
import pytest
from pagetest import (  # noqa: F401  (clean_registry: autouse fixture)
    chart_titled,
    clean_registry,
    decoded,
    no_exceptions,
    open_page,
    poll,
    run_key,
)
from test_custom_data import BAD_FILES, two_blobs

import bnlab_ui.core as core
from bn_core.data import custom
from bn_core.lessons import custom_data as cd

PAGE = "pages/13_Your_own_data.py"


def page_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def upload(at, name: str, raw: bytes):
    box = next(u for u in at.get("file_uploader") if u.key == "custom:upload")
    box.set_value((name, raw, "text/csv"))
    at.run()
    return at


def the_run():
    return max(core.get_registry().runs(), key=lambda r: r.last_seen)


def test_defaults_train_on_the_example():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert key == {**cd.page_config(cd.example().name).to_dict(), "pace": key["pace"]}


def test_a_good_upload_becomes_the_pages_data_set():
    at = open_page(PAGE)
    raw = two_blobs(80, seed=3)
    upload(at, "blobs.csv", raw)
    no_exceptions(at)
    name = custom.parse_csv(raw).name
    assert at.query_params["data"] == [name] or at.query_params["data"] == name
    at.run()
    no_exceptions(at)
    assert run_key(at)["dataset"] == name
    assert not at.error


@pytest.mark.parametrize("kind", ["empty", "text in numbers", "one class", "not CSV at all"])
def test_a_bad_upload_says_why_and_changes_nothing(kind):
    at = open_page(PAGE)
    before = run_key(at)
    raw, needle = BAD_FILES[kind]
    upload(at, f"{kind}.csv", raw)
    no_exceptions(at)
    assert any(needle in e.value for e in at.error), [e.value for e in at.error]
    assert run_key(at) == before


def test_charts_and_sentences_carry_the_runs_numbers():
    at = open_page(PAGE, {"steps": "300"})
    poll(at, 240, until=lambda a: the_run().snapshot().status == "finished")
    at.run()
    no_exceptions(at)
    snap = the_run().snapshot()
    assert snap.status == "finished" and snap.config.steps == 300
    acc = chart_titled(at, "Held-out accuracy of both nets")
    curves = [t for t in acc["data"] if len(decoded(t["x"])) > 1]
    assert len(curves) == 2
    for trace, net in zip(curves, snap.nets.values()):
        assert np.array_equal(decoded(trace["x"]), np.asarray(net.evals["step"], float))
        assert np.allclose(decoded(trace["y"]), net.evals["heldout_acc"])
    text = page_text(at)
    for line in cd.findings(snap):
        assert line in text, line
    assert chart_titled(at, f"Decision regions at step {snap.step:,}")["data"]
