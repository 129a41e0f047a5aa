"""AppTest tests of the "Inside the BN layer" page (pages/7_Inside_the_BN_layer.py).

The page computes everything on the spot (no background run) and shows one section at a time
(`?section=<name>`, Previous/Next): each section renders, its charts carry the computed values,
its texts match them, edited tables are validated and kept while the student steps through."""
import numpy as np
import pytest
from pagetest import chart_specs, fresh_registry, no_exceptions, open_page, trace_points

from bn_core.lessons import inside_bn as lesson

PAGE = "pages/7_Inside_the_BN_layer.py"
TITLE = "Inside the BN layer"
# each section and the title of its chart (None: tables only)
SECTIONS = {"batch": "Algorithm 1", "numbers": None, "rules": None,
            "backward": "Backprop vs centred", "nodes": None, "running": "Batch statistics",
            "modes": "normalised, in", "batch-size": "Smaller batches", "conv": "(N, C, H, W)"}


@pytest.fixture(autouse=True)
def registry():
    yield
    fresh_registry()


def charts(at) -> dict:
    return {s["layout"]["title"]["text"]: s for s in chart_specs(at)}


def chart(at, start: str) -> dict:
    return next(s for t, s in charts(at).items() if t.startswith(start) or start in t)


def editor_key(name: str, n=4, d=3, seed=0) -> str:
    return f"edit:{name}:{n}:{d}:{seed}:0"


def values(trace, axis="y") -> np.ndarray:
    v = trace[axis]
    if isinstance(v, dict):  # a base64 typed array
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v, dtype=float)


def text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def section(at) -> str:
    """The section the step bar shows (its segmented control's value)."""
    return at.session_state[f"{TITLE}|section"]


def tables(at) -> list:
    return [t.value for t in at.table]


@pytest.mark.parametrize("name", list(SECTIONS))
def test_every_section_renders_with_its_chart_filled(name):
    at = open_page(PAGE, {"section": name})
    no_exceptions(at)
    assert not at.error and not at.warning
    assert section(at) == name
    specs = charts(at)
    if SECTIONS[name] is None:
        assert not specs and at.table  # a section of tables
    else:
        assert len(specs) == 1
        assert trace_points(chart(at, SECTIONS[name])) > 0


def test_first_section_by_default_and_next_previous_step_through():
    at = open_page(PAGE)
    assert section(at) == "batch" and "section" not in at.query_params
    assert at.button(key=f"{TITLE}|section:prev").disabled
    at.button(key=f"{TITLE}|section:next").click().run()
    no_exceptions(at)
    assert at.query_params["section"] in ("numbers", ["numbers"]) and section(at) == "numbers"
    assert not charts(at) and at.table  # the arithmetic: tables, no chart
    at.button(key=f"{TITLE}|section:prev").click().run()
    assert section(at) == "batch" and "section" not in at.query_params
    assert charts(at) and chart(at, "Algorithm 1")


def test_last_section_disables_next_and_numbers_work_in_the_url():
    at = open_page(PAGE, {"section": "9"})
    assert section(at) == "conv" and at.button(key=f"{TITLE}|section:next").disabled


def test_unknown_section_shows_the_first_with_a_notice():
    at = open_page(PAGE, {"section": "banana"})
    no_exceptions(at)
    assert section(at) == "batch"
    notice = " ".join(w.value for w in at.warning)
    assert "not a section of this lesson" in notice and "Your batch" in notice


def test_each_section_draws_only_its_own_settings():
    batch = [s.label for s in open_page(PAGE).sidebar.slider]
    running = [s.label for s in open_page(PAGE, {"section": "running"}).sidebar.slider]
    assert "Batch: examples N (rows)" in batch and "Training batch size m" not in batch
    assert "Training batch size m" in running and "Batch: examples N (rows)" not in running


def test_gradient_check_on_the_default_batch_agrees_everywhere():
    at = open_page(PAGE, {"section": "backward"})
    bars = chart(at, "Backprop vs centred")["data"][0]
    errors = values(bars)
    assert len(errors) == 12
    assert np.all(errors < lesson.GRADCHECK_TOLERANCE)
    assert "backprop and centred differences agree at every node" in text(at)
    assert f"largest error is {errors.max():.1e}" in text(at)


def test_every_node_table_follows_the_feature_shown():
    at = open_page(PAGE, {"section": "nodes", "f": "2"})
    no_exceptions(at)
    frame = tables(at)[0]
    assert "backprop (x2)" in frame.columns and len(frame) == 12


def test_running_statistics_use_the_population_from_the_url():
    at = open_page(PAGE, {"section": "running", "pm": "-2", "ps": "3", "m": "2", "T": "400"})
    no_exceptions(at)
    spec = chart(at, "Batch statistics")
    true = [t for t in spec["data"] if t["name"] == "population (true) value"]
    assert sorted(values(t)[0] for t in true) == pytest.approx([-2.0, 9.0])
    biased = next(t for t in spec["data"] if "uncorrected" in t["name"])
    corrected = next(t for t in spec["data"] if t["name"].startswith("m/(m-1)"))
    # with m = 2 the uncorrected average is half the corrected one
    np.testing.assert_allclose(values(corrected), 2 * values(biased), rtol=1e-5)
    assert "After 400 batches of m = 2" in text(at)
    # the text's numbers are the chart's last points
    assert f"**{values(corrected)[-1]:.3f}** (dashed)" in text(at)


def test_batch_of_one_shows_what_breaks():
    at = open_page(PAGE, {"n": "1"})
    no_exceptions(at)
    assert "N = 1: BN breaks" in text(at)
    xhat_panel = [t for t in chart(at, "Algorithm 1")["data"] if t.get("xaxis") == "x2"]
    dots = [t for t in xhat_panel if t["name"].isdigit()]
    assert dots and all(np.allclose(values(t, "x"), 0.0) for t in dots)
    at = open_page(PAGE, {"section": "running", "m": "1"})
    no_exceptions(at)
    refusal = " ".join(e.value for e in at.error)
    assert "Expected more than 1 value per channel" in refusal  # torch's own words
    at = open_page(PAGE, {"section": "batch-size", "m": "1"})
    assert chart(at, "Smaller batches")  # the batch-size study does not use m


def test_controls_change_the_batch_and_the_tensor():
    at = open_page(PAGE)
    first = values(chart(at, "Algorithm 1")["data"][1], "x")
    seed = next(s for s in at.sidebar.slider if s.label == "Random seed")
    seed.set_value(7).run()
    second = values(chart(at, "Algorithm 1")["data"][1], "x")
    assert not np.allclose(first, second)
    at = open_page(PAGE, {"section": "conv", "tn": "3", "tc": "2", "hw": "5", "ch": "2"})
    slab = chart(at, "(N, C, H, W)")
    assert len(slab["data"]) == 3 * 2
    assert slab["layout"]["title"]["text"].startswith("(N, C, H, W) = (3, 2, 5, 5): channel 2")
    assert "N x H x W = **75**" in text(at)


def test_channel_beyond_c_is_clamped_with_a_caption():
    at = open_page(PAGE, {"section": "conv", "tc": "2", "ch": "4"})
    no_exceptions(at)
    assert any("showing channel 2" in c.value for c in at.caption)


def test_out_of_range_url_is_clamped_with_a_notice():
    at = open_page(PAGE, {"n": "99", "eps": "banana"})
    no_exceptions(at)
    notices = " ".join(w.value for w in at.warning)
    assert "n=99" in notices and "eps" in notices
    assert len(chart(at, "Algorithm 1")["data"]) == 1 + 8 + 2 * (1 + 8)  # 8 examples


def test_an_edit_is_kept_while_stepping_through_and_reset_drops_it():
    at = open_page(PAGE)
    at.session_state[editor_key("x")] = {"edited_rows": {"0": {"x1": 1000.0}},
                                         "added_rows": [], "deleted_rows": []}
    at.run()
    no_exceptions(at)
    assert not at.error
    mu = chart(at, "Algorithm 1")["data"][0]  # the batch means, panel 1
    assert values(mu, "x")[0] > 200  # one huge value drags the mean of x1
    at.button(key=f"{TITLE}|section:next").click().run()  # the arithmetic
    no_exceptions(at)
    stats = tables(at)[0]
    assert stats.loc["x1", "mu"] > 200 and stats.loc["x2", "mu"] < 200
    at.button(key=f"{TITLE}|section:next").click().run()
    at.button(key=f"{TITLE}|section:next").click().run()  # the gradient check, same batch
    assert section(at) == "backward"
    assert "agree at every node" in text(at)
    for _ in range(3):
        at.button(key=f"{TITLE}|section:prev").click().run()
    assert section(at) == "batch"
    assert values(chart(at, "Algorithm 1")["data"][0], "x")[0] > 200  # still edited
    at.button(key="inside:reset").click().run()
    assert values(chart(at, "Algorithm 1")["data"][0], "x")[0] < 200  # the seed's batch again


def test_an_empty_cell_is_refused():
    at = open_page(PAGE, {"section": "backward"})
    at.session_state[editor_key("dy")] = {"edited_rows": {"1": {"x2": None}},
                                          "added_rows": [], "deleted_rows": []}
    at.run()
    no_exceptions(at)
    message = " ".join(e.value for e in at.error)
    assert "dL/dy: empty or not a finite number at example 2, x2" in message
    assert not chart_specs(at)


def test_projector_view_shows_one_section_with_its_say_line_and_no_long_text():
    at = open_page(PAGE, {"section": "modes", "present": "1"})
    no_exceptions(at)
    assert section(at) == "modes" and len(charts(at)) == 1
    said = " ".join(h.proto.body for h in at.get("html"))
    assert "One input, two modes: a spread, then one value." in said
    assert "In training mode its xhat depends on the batch" not in text(at)  # brief: chart only
