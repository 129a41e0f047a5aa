"""The internal covariate shift page (T3, T6): it loads, its controls change what is trained,
and its charts carry the run's data: the plain net's input variance drifts far more than the
BN net's, and with ReLU and BN after the activation half of what BN sees is 0."""


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

PAGE = "pages/3_Internal_covariate_shift.py"


def test_defaults_show_a_drifting_relu_net():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert key["activation"] == "relu" and 3 <= key["depth"] <= 4
    assert key["placement"] == "before" and key["nets"] == ["plain", "bn"]
    assert key["steps"] <= 5000
    assert not at.error


def test_controls_change_the_run_key():
    at = open_page(PAGE, {"steps": "100", "place": "after", "depth": "3", "act": "sigmoid",
                          "data": "moons"})
    no_exceptions(at)
    key = run_key(at)
    assert (key["placement"], key["depth"], key["activation"], key["dataset"]) == \
        ("after", 3, "sigmoid", "moons")
    widget(at, "placement", "cfg").set_value("before").run()
    assert run_key(at)["placement"] == "before"
    widget(at, "dataset").set_value("circles").run()
    assert run_key(at)["dataset"] == "circles" and run_key(at)["pace"] > 0  # 2-D: watchable
    before = run_key(at)
    widget(at, "layer", "view").set_value(1).run()
    assert run_key(at) == before  # the heatmap layer is a view setting
    no_exceptions(at)


def test_unknown_data_set_in_url_gets_a_notice():
    at = open_page(PAGE, {"data": "deep-linear", "steps": "100"})
    no_exceptions(at)
    assert run_key(at)["dataset"] == "mnist-subset"
    assert any("data=" in w.value for w in at.warning)


def test_charts_show_drift_and_bn_input():
    at = open_page(PAGE, {"steps": "300"})
    poll(at, 50, until=finished)
    at.run()
    no_exceptions(at)
    heat, moments, bn = chart_specs(at)
    assert all(trace_points(s) > 0 for s in (heat, moments, bn))
    maps = [t for t in heat["data"] if t["type"] == "heatmap"]
    assert len(maps) == 2 and decoded(maps[0]["z"]).max() > 0
    # variance of the top layer: the plain net's grows many times, the BN net's stays near 1
    var = {t["name"]: decoded(t["y"]) for t in moments["data"]
           if t["yaxis"] == "y8" and t["type"] == "scatter"}
    assert var["Plain"][-1] / var["Plain"][0] > 10
    assert 0.5 < var["BN"][-1] < 2.0
    text = " ".join(m.value for m in at.markdown)
    assert "variance grew up to" in text and "skewness" in text
    import bnlab_ui.core as core
    from bn_core.lessons import distributions as d

    snap = core.get_registry().runs()[-1].snapshot()
    for reading in (d.layer_drift_reading(snap, 3), d.depth_drift_reading(snap),
                    d.placement_reading(snap, [0, 1, 2, 3])):
        assert reading and reading in text


def test_relu_after_bn_sees_half_zeros():
    at = open_page(PAGE, {"steps": "100", "place": "after"})
    poll(at, 40, until=finished)
    at.run()
    no_exceptions(at)
    bn = chart_specs(at)[2]
    bars = [decoded(t["y"]) for t in bn["data"] if t["type"] == "bar"]
    assert bars and all(b.max() > 35 for b in bars)  # % of BN's input in the bin at 0
    assert "after" in bn["layout"]["title"]["text"]


def test_arriving_from_another_page_keeps_this_pages_defaults():
    at = open_page("app.py")
    at.switch_page("pages/1_Figure_1_live.py").run()
    at.switch_page("pages/3_Internal_covariate_shift.py").run()
    no_exceptions(at)
    key = run_key(at)
    assert (key["activation"], key["lr"], key["steps"], key["batch_size"]) == \
        ("relu", 0.1, 3000, 60)


def test_the_page_is_on_the_lesson_frame_only():
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / PAGE).read_text()
    assert "ui.Lesson(" in source and "lesson.live(" in source
    for old in ("ui.page_header", "ui.run_controls", "ui.live_view", "ui.status_line",
                "st.plotly_chart", "plotly.graph_objects"):
        assert old not in source, old
