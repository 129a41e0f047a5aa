"""AppTest tests of the "Inside the BN layer" page (pages/7_Inside_the_BN_layer.py).

The page computes everything on the spot (no background run): its controls change what is
computed, the charts carry the computed values, and edited tables are validated."""
import numpy as np
import pytest
from pagetest import chart_specs, fresh_registry, no_exceptions, open_page, trace_points

from bn_core.lessons import inside_bn as lesson

PAGE = "pages/7_Inside_the_BN_layer.py"
TITLES = ("Algorithm 1", "Backprop vs centred", "Training mode", "normalised, in",
          "Smaller batches", "(N, C, H, W)")


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


def test_loads_with_every_chart_filled():
    at = open_page(PAGE)
    no_exceptions(at)
    assert not at.error
    specs = charts(at)
    for title in TITLES:
        spec = chart(at, title)
        assert trace_points(spec) > 0, title
    assert len(specs) == len(TITLES)


def test_gradient_check_on_the_default_batch_agrees_everywhere():
    at = open_page(PAGE)
    bars = chart(at, "Backprop vs centred")["data"][0]
    errors = values(bars)
    assert len(errors) == 12
    assert np.all(errors < lesson.GRADCHECK_TOLERANCE)
    assert "backprop and the numerical gradients agree" in text(at)


def test_running_statistics_use_the_population_from_the_url():
    at = open_page(PAGE, {"pm": "-2", "ps": "3", "m": "2", "T": "400"})
    no_exceptions(at)
    spec = chart(at, "Training mode")
    true = [t for t in spec["data"] if t["name"] == "population (true) value"]
    assert sorted(values(t)[0] for t in true) == pytest.approx([-2.0, 9.0])
    biased = next(t for t in spec["data"] if "uncorrected" in t["name"])
    corrected = next(t for t in spec["data"] if t["name"].startswith("m/(m-1)"))
    # with m = 2 the uncorrected average is half the corrected one
    np.testing.assert_allclose(values(corrected), 2 * values(biased), rtol=1e-5)
    assert "400 batches" in text(at)


def test_batch_of_one_shows_what_breaks():
    at = open_page(PAGE, {"n": "1", "m": "1"})
    no_exceptions(at)
    assert "N = 1: BN breaks" in text(at)
    refusal = " ".join(e.value for e in at.error)
    assert "Expected more than 1 value per channel" in refusal  # torch's own words
    xhat_panel = [t for t in chart(at, "Algorithm 1")["data"] if t.get("xaxis") == "x2"]
    assert all(np.allclose(values(t, "x"), 0.0) for t in xhat_panel if t["name"].startswith("ex"))
    assert chart(at, "Smaller batches")  # the batch-size study still shows


def test_controls_change_the_batch_and_the_tensor():
    at = open_page(PAGE)
    first = values(chart(at, "Algorithm 1")["data"][1], "x")
    at.sidebar.slider[3].set_value(7).run()  # the seed
    second = values(chart(at, "Algorithm 1")["data"][1], "x")
    assert not np.allclose(first, second)
    at = open_page(PAGE, {"tn": "3", "tc": "2", "hw": "5", "ch": "2"})
    slab = chart(at, "(N, C, H, W)")
    assert len(slab["data"]) == 3 * 2
    assert slab["layout"]["title"]["text"].startswith("(N, C, H, W) = (3, 2, 5, 5): channel 2")
    assert "N x H x W = 75" in text(at)


def test_channel_beyond_c_is_clamped_with_a_caption():
    at = open_page(PAGE, {"tc": "2", "ch": "4"})
    no_exceptions(at)
    assert any("showing channel 2" in c.value for c in at.caption)


def test_out_of_range_url_is_clamped_with_a_notice():
    at = open_page(PAGE, {"n": "99", "eps": "banana"})
    no_exceptions(at)
    notices = " ".join(w.value for w in at.warning)
    assert "n=99" in notices and "eps" in notices
    assert len(chart(at, "Algorithm 1")["data"]) == 1 + 8 + 2 * (1 + 8)  # 8 examples


def test_edited_cell_is_used_and_an_empty_cell_is_refused():
    at = open_page(PAGE)
    at.session_state[editor_key("x")] = {"edited_rows": {"0": {"x1": 1000.0}},
                                         "added_rows": [], "deleted_rows": []}
    at.run()
    no_exceptions(at)
    assert not at.error
    mu = chart(at, "Algorithm 1")["data"][0]  # the batch means, panel 1
    assert values(mu, "x")[0] > 200  # one huge value drags the mean of x1
    at.session_state[editor_key("dy")] = {"edited_rows": {"1": {"x2": None}},
                                          "added_rows": [], "deleted_rows": []}
    at.run()
    no_exceptions(at)
    message = " ".join(e.value for e in at.error)
    assert "dL/dy: empty or not a finite number at example 2, x2" in message
    assert not chart_specs(at) or len(chart_specs(at)) < len(TITLES)
