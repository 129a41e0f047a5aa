"""The "A live convolutional net" page: its defaults are the lesson's CNN twins, the ReLU setup
brings its own settings, the conv layer shown restarts nothing, and its charts and sentences
carry the run's own numbers."""
from __future__ import annotations

import numpy as np
from pagetest import (  # noqa: F401  (clean_registry: autouse fixture)
    chart_titled,
    clean_registry,
    decoded,
    no_exceptions,
    open_page,
    poll,
    run_key,
    widget,
)

import bnlab_ui.core as core
from bn_core.lessons import conv_bn

PAGE = "pages/12_Convolutional_BN.py"


def page_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def the_run():
    return max(core.get_registry().runs(), key=lambda r: r.last_seen)


def test_defaults_are_the_lessons_cnn_twins():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert key == {**conv_bn.CNN_TWINS.to_dict(), "pace": key["pace"]}
    assert key["nets"] == ["plain", "bn"]


def test_the_relu_setup_brings_its_settings_and_the_layer_shown_restarts_nothing():
    at = open_page(PAGE, {"lr": "0.3"})
    assert run_key(at)["lr"] == 0.3
    widget(at, "setup", "view").set_value("relu").run()
    no_exceptions(at)
    key = run_key(at)
    relu = conv_bn.CNN_TWINS_RELU
    assert (key["activation"], key["lr"], key["init"]) == (relu.activation, relu.lr, relu.init)
    before = the_run().key
    widget(at, "layer", "view").set_value(2).run()
    no_exceptions(at)
    assert the_run().key == before

    def maps_of_layer_2(a):
        try:
            return bool(chart_titled(a, "Feature maps of conv layer 2")["data"])
        except KeyError:
            return False
    poll(at, 240, until=maps_of_layer_2)
    no_exceptions(at)
    assert maps_of_layer_2(at) and the_run().key == before


def test_charts_and_sentences_carry_the_runs_numbers():
    at = open_page(PAGE, {"steps": "200"})
    poll(at, 300, until=lambda a: the_run().snapshot().status == "finished")
    at.run()
    no_exceptions(at)
    snap = the_run().snapshot()
    assert snap.status == "finished" and snap.config.steps == 200
    acc = chart_titled(at, "Held-out accuracy of the two convolutional nets")
    curves = [t for t in acc["data"] if len(decoded(t["x"])) > 1]
    assert len(curves) == 2
    for trace, net in zip(curves, snap.nets.values()):
        assert np.array_equal(decoded(trace["x"]), np.asarray(net.evals["step"], float))
        assert np.allclose(decoded(trace["y"]), net.evals["heldout_acc"])
    text = page_text(at)
    for line in conv_bn.findings(snap, 0):
        assert line in text, line
    assert chart_titled(at, "Each channel of conv layer 1")["data"]
    maps = chart_titled(at, "Feature maps of conv layer 1")
    assert sum(1 for t in maps["data"] if t.get("type") == "heatmap") >= 2 * snap.config.width
