"""The gamma and beta page (T7): it loads, its controls change what is trained, and its charts
carry the run's data: frozen gamma = 0.5, beta = 0 keeps the BN net's sigmoid inputs in the
near-linear zone, gamma = 1 in the near-linear middle, ReLU with beta 0 zeroes about half the
outputs, undo equals plain; circles with beta 0 get the symmetry explained."""

import numpy as np
import pytest
from pagetest import (
    chart_specs,
    clean_registry,  # noqa: F401  (autouse fixture)
    decoded,
    finished,
    no_exceptions,
    open_page,
    poll,
    run_key,
    trace_points,
    widget,
)

PAGE = "pages/4_Gamma_and_beta.py"
SHORT = {"steps": "200"}


def chart(at, title_start):
    for spec in chart_specs(at):
        if spec["layout"]["title"]["text"].startswith(title_start):
            return spec
    raise KeyError(title_start)


def series(spec, name):
    trace = next(t for t in spec["data"] if t.get("name") == name)
    return decoded(trace["y"])


def test_defaults_freeze_gamma_half_beta_zero_on_the_moons():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert (key["affine"], key["gamma_value"], key["beta_value"]) == ("frozen", 0.5, 0.0)
    assert (key["dataset"], key["activation"], key["nets"]) == ("moons", "sigmoid",
                                                                ["plain", "bn"])
    assert key["steps"] / key["pace"] <= 30  # the default run lasts at most ~30 s


def test_url_and_widgets_change_the_run_key():
    at = open_page(PAGE, {**SHORT, "affine": "learnable", "act": "relu", "beta": "0.5"})
    no_exceptions(at)
    key = run_key(at)
    assert (key["affine"], key["activation"], key["beta_value"]) == ("learnable", "relu", 0.5)
    widget(at, "affine").set_value("undo").run()
    assert run_key(at)["affine"] == "undo"
    widget(at, "gamma_value").set_value(0.3).run()
    assert run_key(at)["gamma_value"] == pytest.approx(0.3)
    before = run_key(at)
    widget(at, "layer", "view").set_value(1).run()
    assert run_key(at) == before  # the layer shown does not restart the run
    no_exceptions(at)


def test_frozen_sigmoid_charts_carry_the_run():
    at = open_page(PAGE, SHORT)
    poll(at, 30, until=finished)
    no_exceptions(at)
    specs = chart_specs(at)
    assert len(specs) == 5 and all(trace_points(s) > 0 for s in specs)
    zones = chart(at, "Layer 3: share of sigmoid inputs")
    bn_linear = series(zones, "BN: near-linear")
    assert np.all(bn_linear > 0.9)  # gamma 0.5: the near-linear zone, throughout
    acc = chart(at, "Held-out accuracy")
    for trace in acc["data"]:
        y = decoded(trace["y"])
        assert np.all((y >= 0) & (y <= 1))
    affine = chart(at, "BN net: scale gamma")
    gammas = [decoded(t["y"]) for t in affine["data"] if t.get("xaxis", "x") == "x"]
    assert gammas and all(np.allclose(g, 0.5) for g in gammas)  # frozen: flat at 0.5
    text = " ".join(m.value for m in at.markdown)
    assert "near-linear" in text and "95% of outputs in [" in text
    import bnlab_ui.core as core
    from bn_core.lessons import gamma_beta

    snap = core.get_registry().runs()[-1].snapshot()
    assert gamma_beta.zones_reading(snap, 2) in text and gamma_beta.accuracy_text(snap) in text


def test_normalising_alone_keeps_the_inputs_in_the_middle():
    at = open_page(PAGE, {**SHORT, "gamma": "1"})
    poll(at, 30, until=finished)
    no_exceptions(at)
    bn_linear = series(chart(at, "Layer 3: share of sigmoid inputs"), "BN: near-linear")
    assert np.all((bn_linear > 0.35) & (bn_linear < 0.85))  # N(0, 1): the middle, not all of it


def test_circles_with_beta_zero_explain_the_symmetry_not_the_nonlinearity():
    at = open_page(PAGE, {**SHORT, "data": "circles", "gamma": "1"})
    poll(at, 30, until=finished)
    no_exceptions(at)
    text = " ".join(m.value for m in at.markdown)
    assert "A symmetry, not the nonlinearity" in text and "f(-x) = c - f(x)" in text


def test_relu_with_beta_frozen_at_zero_zeroes_about_half():
    at = open_page(PAGE, {**SHORT, "act": "relu"})
    poll(at, 30, until=finished)
    no_exceptions(at)
    zones = chart(at, "Layer 3: share of relu inputs")
    bn_zero = series(zones, "BN: output 0 (input <= 0)")
    assert len(bn_zero) > 3 and np.all(np.abs(bn_zero - 0.5) < 0.15)


def test_undo_makes_the_bn_net_compute_the_plain_net():
    at = open_page(PAGE, {**SHORT, "affine": "undo"})
    poll(at, 30, until=finished)
    no_exceptions(at)
    zones = chart(at, "Layer 3: share of sigmoid inputs")
    plain, bn = series(zones, "Plain: near-linear"), series(zones, "BN: near-linear")
    assert plain[0] == pytest.approx(bn[0], abs=1e-6)  # same weights, BN undone: same inputs
    assert np.max(np.abs(plain - bn)) < 0.1


def test_bad_url_values_are_clamped_with_a_notice():
    at = open_page(PAGE, {**SHORT, "gamma": "99", "affine": "sideways", "layer": "12"})
    no_exceptions(at)
    key = run_key(at)
    assert key["gamma_value"] == 5.0 and key["affine"] == "frozen"
    assert widget(at, "layer", "view").value == 3
    notices = " ".join(w.value for w in at.warning)
    assert "gamma=99" in notices and "affine=sideways" in notices and "layer=12" in notices


def test_the_page_is_on_the_lesson_frame_only():
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / PAGE).read_text()
    assert "ui.Lesson(" in source and "lesson.live(" in source
    for old in ("ui.page_header", "ui.run_controls", "ui.live_view", "ui.status_line",
                "st.plotly_chart", "plotly.graph_objects"):
        assert old not in source, old



def test_the_scrubber_follows_the_newest_probe_and_shows_a_past_step():
    """The Step shown slider follows the newest probe while the run trains, and a step
    dragged back to is the step the charts' titles say."""
    from bn_core.engine.records import recorded_steps
    import bnlab_ui.core as core

    at = open_page(PAGE, {"steps": "3000"})

    def scrubber(at):
        return next((s for s in at.slider if s.label == "Step shown"), None)

    poll(at, 60, until=lambda at: scrubber(at) is not None)
    run = max(core.get_registry().runs(), key=lambda r: r.last_seen)
    first = scrubber(at)
    assert first is not None and first.value == first.max
    seen = int(first.value)
    poll(at, 30, until=lambda at: scrubber(at).value > seen)
    assert scrubber(at).value > seen and scrubber(at).value == scrubber(at).max
    run.pause()
    poll(at, 20, until=lambda at: not run.snapshot().live)
    at.run()
    steps = recorded_steps(run.snapshot())
    assert scrubber(at).value == steps[-1]
    back = steps[len(steps) // 2]
    scrubber(at).set_value(back).run()
    no_exceptions(at)
    titles = [spec["layout"]["title"]["text"].replace("<br>", " ") for spec in chart_specs(at)]
    assert any(f"at step {back:,}" in t for t in titles), (back, titles)
    assert "(run at" in " ".join(m.value for m in at.markdown)
