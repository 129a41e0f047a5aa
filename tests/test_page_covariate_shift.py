"""The covariate shift page (T1, T2): both parts load, their controls change what is trained,
and their charts carry the runs' data."""
import pytest
from pagetest import (
    chart_specs,
    clean_registry,  # noqa: F401  (autouse fixture)
    decoded,
    fresh_registry,
    no_exceptions,
    open_page,
    poll,
    run_key,
    trace_points,
    widget,
)

import bnlab_ui.core as core

PAGE = "pages/2_Covariate_shift.py"


def charts_by_title(at) -> dict:
    return {s["layout"]["title"]["text"]: s for s in chart_specs(at)}


def has_charts(n: int, with_data: bool = True):
    def ready(at):
        specs = chart_specs(at)
        return len(specs) >= n and (not with_data or all(trace_points(s) > 0 for s in specs))
    return ready


def shift_views(at) -> tuple:
    """The test shift the page's view widgets hold: (shift x, shift y, rotation, scale)."""
    return tuple(widget(at, n, "view").value for n in ("shift_x", "shift_y", "rotate_deg", "scale"))


def run_finished(at) -> bool:
    """Whether the page's run (the registry's most recent) has trained to its end."""
    runs = core.get_registry().runs()
    return bool(runs) and max(runs, key=lambda r: r.last_seen).snapshot().status == "finished"


def page_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_shift_part_defaults_shift_the_test_data_only():
    """The run trains unshifted (the test shift is only re-scored, never trained); the test
    shift widgets hold the lesson's default shift, and the page says it."""
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert key["dataset"] == "moons" and key["far_offset"] == 0.0 and key["whitening"] == "none"
    assert (key["shift_x"], key["shift_y"], key["rotate_deg"], key["scale"]) == (0.0, 0.0, 0.0, 1.0)
    assert shift_views(at) == (1.0, 0.0, 30.0, 1.0)
    assert key["pace"] > 0 and key["steps"] * 1.0 / key["pace"] <= 30  # a run lasts seconds
    assert not at.error
    poll(at, 30, until=lambda a: "moved by (+1, +0) and rotated +30 degrees" in page_text(a))
    assert "moved by (+1, +0) and rotated +30 degrees" in page_text(at)


def test_shift_controls_are_views_and_training_controls_change_the_run_key():
    at = open_page(PAGE, {"sx": "-2", "sy": "0.5", "rot": "-45", "scale": "2", "data": "xor"})
    no_exceptions(at)
    assert shift_views(at) == (-2.0, 0.5, -45.0, 2.0)
    key = run_key(at)
    assert key["dataset"] == "xor" and (key["shift_x"], key["rotate_deg"]) == (0.0, 0.0)
    runs = len(core.get_registry().runs())
    widget(at, "rotate_deg", "view").set_value(90.0).run()
    no_exceptions(at)
    assert len(core.get_registry().runs()) == runs  # moving the test data never retrains
    assert at.query_params.get("rot") in ("90", ["90"], "90.0", ["90.0"])
    poll(at, 20, until=lambda a: "rotated +90 degrees" in page_text(a))
    assert "rotated +90 degrees" in page_text(at)
    widget(at, "dataset").set_value("moons").run()
    no_exceptions(at)
    assert run_key(at)["dataset"] == "moons" and len(core.get_registry().runs()) == runs + 1


def test_shift_charts_show_train_above_test():
    at = open_page(PAGE)
    poll(at, 60, until=lambda a: has_charts(3)(a) and any(
        s["layout"]["title"]["text"].startswith("Accuracy") and len(s["data"]) == 4
        and len(decoded(s["data"][0]["x"])) >= 55 for s in chart_specs(a)))
    no_exceptions(at)
    charts = charts_by_title(at)
    regions = next(s for t, s in charts.items() if t.startswith("Decision regions"))
    assert sum(t["type"] == "heatmap" for t in regions["data"]) == 2  # one region grid per net
    acc = next(s for t, s in charts.items() if t.startswith("Accuracy"))
    lines = {t["name"]: decoded(t["y"]) for t in acc["data"]}
    train, test = lines["Plain: training data"], lines["Plain: shifted test data"]
    assert ((train >= 0) & (train <= 1)).all() and ((test >= 0) & (test <= 1)).all()
    assert train[-1] > 0.8 and test[-1] < train[-1] - 0.1, (train, test, run_key(at))  # the shift costs test accuracy
    sweep = next(s for t, s in charts.items() if "shifted part of the way" in t)
    assert [t["name"] for t in sweep["data"]] == ["Plain", "BN"]
    text = page_text(at)
    assert "shifted test" in text and "at your full shift" in text
    assert "The shift costs the Plain net" in text  # the verdict follows the run's own numbers


def test_moving_the_test_data_rescores_the_same_run_at_once():
    """A test-only change re-scores the recorded nets: same run, different test accuracy."""
    at = open_page(PAGE)
    poll(at, 90, until=lambda a: run_finished(a) and "Accuracy at step 1,500" in page_text(a))
    assert run_finished(at)
    def plain_test(a):
        acc = next(s for t, s in charts_by_title(a).items() if t.startswith("Accuracy"))
        return float({t["name"]: decoded(t["y"]) for t in acc["data"]}["Plain: shifted test data"][-1])
    runs, moved = len(core.get_registry().runs()), plain_test(at)
    for name, value in (("shift_x", 0.0), ("rotate_deg", 0.0)):
        widget(at, name, "view").set_value(value).run()
    no_exceptions(at)
    assert len(core.get_registry().runs()) == runs
    unmoved = plain_test(at)
    assert unmoved > moved + 0.1, (moved, unmoved)  # back on the training distribution
    assert "The test data is not moved" in page_text(at)


def test_switching_parts_keeps_each_parts_settings():
    at = open_page(PAGE, {"sx": "2"})
    at.button_group[0].set_value("whitening").run()
    no_exceptions(at)
    assert at.query_params.get("part") in ("whitening", ["whitening"])
    at.button_group[0].set_value("shift").run()
    no_exceptions(at)
    assert widget(at, "shift_x", "view").value == 2.0
    assert run_key(at)["shift_x"] == 0.0  # trained unshifted, whatever the test shift


def test_bad_url_values_are_clamped_with_a_notice():
    at = open_page(PAGE, {"part": "bogus", "sx": "99", "rot": "abc"})
    no_exceptions(at)
    notices = " ".join(w.value for w in at.warning)
    assert "part=bogus" in notices and "sx=99" in notices and "rot=abc" in notices
    assert shift_views(at)[0] == 5.0 and shift_views(at)[2] == 30.0  # clamped; reset to the page's


def test_whitening_part_trains_two_runs_side_by_side():
    at = open_page(PAGE, {"part": "whitening"})
    no_exceptions(at)
    runs = core.get_registry().runs()
    keys = sorted((r.config.whitening, r.config.far_offset) for r in runs)
    assert keys == [("none", 8.0), ("zca", 8.0)]
    poll(at, 20, until=has_charts(3))
    no_exceptions(at)
    charts = charts_by_title(at)
    init = next(s for t, s in charts.items() if t.startswith("At initialisation"))
    lines = [t for t in init["data"] if t.get("name") == "first-layer unit lines at init"]
    assert len(lines) == 2 and trace_points(init) > 0
    titles = [a["text"] for a in init["layout"]["annotations"]]
    assert any(t.startswith("not whitened") and "lines cut the data" in t for t in titles)
    acc = next(s for t, s in charts.items() if t.startswith("Training accuracy"))
    assert any(t.get("name", "").startswith("target 90%") for t in acc["data"])
    text = " ".join(m.value for m in at.markdown)
    assert "Steps to reach 90% training accuracy" in text and "16 of 16" in text


def test_whitening_controls_change_both_runs_and_target_does_not():
    at = open_page(PAGE, {"part": "whitening", "far": "4", "white": "standardize"})
    no_exceptions(at)
    keys = sorted((r.config.whitening, r.config.far_offset) for r in core.get_registry().runs())
    assert keys == [("none", 4.0), ("standardize", 4.0)]
    before = len(core.get_registry().runs())
    widget(at, "target", "view").set_value(0.8).run()
    no_exceptions(at)
    assert len(core.get_registry().runs()) == before  # the target only changes what is drawn

    def says_target(a):
        return "Steps to reach 80% training accuracy" in " ".join(m.value for m in a.markdown)
    poll(at, 15, until=says_target)
    assert says_target(at)
    assert len(core.get_registry().runs()) == before


def test_whitening_none_trains_one_run():
    at = open_page(PAGE, {"part": "whitening", "white": "none"})
    no_exceptions(at)
    assert [r.config.whitening for r in core.get_registry().runs()] == ["none"]


@pytest.mark.slow
def test_default_whitening_settings_show_the_speedup():
    """T2 on the page's own default configs, trained to the end (no pace): whitened, the plain
    net reaches the target within a hundred steps; not whitened, not in the whole run."""
    from bn_core.lessons.covariate_shift import steps_to_accuracy
    from bn_core.engine.training import train_to_end

    open_page(PAGE, {"part": "whitening"})
    configs = {r.config.whitening: r.config.replace(pace=0.0) for r in core.get_registry().runs()}
    fresh_registry()
    reached = {}
    for method, config in configs.items():
        view = train_to_end(config).nets["plain"]
        reached[method] = steps_to_accuracy(view.evals["step"], view.evals["train_acc"], 0.9)
    assert reached["none"] is None, reached
    assert reached["zca"] is not None and reached["zca"] <= 100, reached


def test_whitening_part_waits_in_the_queue_without_failing():
    from bn_core.config import RunConfig

    registry = core.get_registry()
    busy = [registry.start(RunConfig(dataset="moons", steps=200_000, pace=50.0, seed=s,
                                     depth=1, width=4, grid_resolution=0)) for s in (1, 2)]
    at = open_page(PAGE, {"part": "whitening"})
    no_exceptions(at)
    assert any("Preparing" in i.value for i in at.info)
    for run in busy:
        run.stop(wait=5.0)
    poll(at, 15, until=lambda a: len(chart_specs(a)) >= 3)
    no_exceptions(at)
    assert len(chart_specs(at)) >= 3
