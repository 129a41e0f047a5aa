"""The shuffling page (T8): it loads, the shuffle slider changes what is trained, the label-mix
strip and the accuracy chart carry data, and the default settings show the claim."""
import numpy as np
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

from bn_core.config import RunConfig
from bn_core.lessons.data_order import recent_range
from bn_core.engine.training import train_to_end

PAGE = "pages/5_Shuffling.py"


def spec_titled(at, start: str) -> dict:
    return next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith(start))


def test_defaults_are_sorted_small_batches():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert key["shuffle"] == 0.0 and key["batch_size"] <= 20 and key["dataset"] == "circles"
    assert key["pace"] > 0 and key["steps"] / key["pace"] <= 30
    strip = spec_titled(at, "Label mix")
    z = decoded(strip["data"][0]["z"])
    assert z.shape == (2, 100) and set(np.unique(z)) == {0.0, 1.0}  # one class per batch
    assert "100% of the first 100 batches hold a single class" in " ".join(
        m.value for m in at.markdown)


def test_shuffle_slider_changes_the_run_and_the_strip():
    at = open_page(PAGE, {"shuffle": "0.5", "batch": "20", "data": "blobs"})
    no_exceptions(at)
    key = run_key(at)
    assert (key["shuffle"], key["batch_size"], key["dataset"]) == (0.5, 20, "blobs")
    widget(at, "shuffle").set_value(1.0).run()
    no_exceptions(at)
    assert run_key(at)["shuffle"] == 1.0
    z = decoded(spec_titled(at, "Label mix")["data"][0]["z"])
    assert z.shape == (3, 100) and (z.max(axis=0) < 1.0).mean() > 0.9  # batches are mixed


def test_accuracy_and_regions_carry_the_runs_data():
    at = open_page(PAGE, {"shuffle": "1"})
    poll(at, 20, until=lambda a: len(chart_specs(a)) >= 3 and len(
        decoded(spec_titled(a, "Held-out")["data"][0]["y"])) >= 5)
    no_exceptions(at)
    acc = spec_titled(at, "Held-out")
    assert [t["name"] for t in acc["data"]] == ["Plain", "BN"]
    y = decoded(acc["data"][1]["y"])
    assert ((y >= 0) & (y <= 1)).all()
    regions = spec_titled(at, "Decision regions")
    assert trace_points(regions) > 0 and sum(t["type"] == "heatmap" for t in regions["data"]) == 2
    assert "Held-out accuracy at step" in " ".join(m.value for m in at.markdown)


def test_a_batch_larger_than_the_data_is_refused_not_crashed():
    at = open_page(PAGE, {"batch": "1000"})
    no_exceptions(at)
    assert any("cannot be trained" in e.value for e in at.error)


@pytest.mark.slow
def test_default_settings_show_sorted_failing_and_shuffled_learning():
    """The page's claim, measured on its own default config trained to the end (no pace)."""
    at = open_page(PAGE)
    config = RunConfig.from_dict(run_key(at)).replace(pace=0.0)
    fresh_registry()
    results = {}
    for shuffle in (0.0, 1.0):
        snap = train_to_end(config.replace(shuffle=shuffle))
        results[shuffle] = {n: recent_range(v.evals["heldout_acc"])[0]
                            for n, v in snap.nets.items()}
    assert all(acc < 0.6 for acc in results[0.0].values()), results
    assert all(acc > 0.9 for acc in results[1.0].values()), results
