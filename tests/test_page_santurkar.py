"""AppTest tests of the "Does BN really reduce ICS?" page (pages/8_Does_BN_reduce_ICS.py)."""
import re

import pytest
from pagetest import (
    chart_specs,
    fresh_registry,
    no_exceptions,
    open_page,
    poll,
    run_key,
    trace_points,
)

PAGE = "pages/8_Does_BN_reduce_ICS.py"
FAST = {"steps": "150", "ics": "50"}  # MNIST: 3 ICS measurements, a few seconds


@pytest.fixture(autouse=True)
def registry():
    yield
    fresh_registry()


def run_finished(_at=None) -> bool:
    """The page's run (the registry's latest) has trained to its last step."""
    import bnlab_ui.core as core

    runs = core.get_registry().runs()
    return bool(runs) and max(runs, key=lambda r: r.last_seen).snapshot().status == "finished"


def conclusion_lines(at) -> list[str]:
    return [line for m in at.markdown if m.value.startswith("- ")
            for line in m.value.split("\n")]


def test_loads_with_three_nets_measuring_ics():
    at = open_page(PAGE, FAST)
    no_exceptions(at)
    key = run_key(at)
    assert key["nets"] == ["plain", "bn", "noisy_bn"]
    assert key["dataset"] == "mnist-subset" and key["activation"] == "sigmoid"
    assert key["ics_every"] == 50 and key["steps"] == 150


def test_noisy_switches_change_the_nets_trained():
    at = open_page(PAGE, {**FAST, "noisy": "0"})
    assert run_key(at)["nets"] == ["plain", "bn"]
    at.sidebar.toggle[1].set_value(True).run()  # the same noise in a plain net
    assert run_key(at)["nets"] == ["plain", "bn", "noisy_plain"]
    no_exceptions(at)


def test_setup_selector_switches_to_the_deep_linear_network_with_its_own_defaults():
    at = open_page(PAGE, {"lr": "0.5"})
    assert run_key(at)["lr"] == 0.5
    at.sidebar.selectbox[0].set_value("deep-linear").run()
    key = run_key(at)
    assert key["dataset"] == "deep-linear" and key["activation"] == "linear"
    assert key["depth"] == 24 and key["lr"] == 0.003 and key["batch_size"] == 1000
    assert at.query_params.get("setup") in ("deep-linear", ["deep-linear"])
    no_exceptions(at)


def test_charts_and_conclusions_come_from_the_run():
    at = open_page(PAGE, FAST)
    poll(at, 45, until=lambda a: any("mean cos(G, G')" in s for s in conclusion_lines(a))
         and run_finished())
    no_exceptions(at)
    specs = {s["layout"]["title"]["text"]: s for s in chart_specs(at)}
    by_layer = next(s for t, s in specs.items() if t.startswith("cos(G, G') per layer"))
    assert len(by_layer["data"]) == 3 and trace_points(by_layer) == 3 * 4  # 3 nets, 4 layers
    for title in ("over training", "Training loss", "Training accuracy", "Loss-landscape"):
        spec = next(s for t, s in specs.items() if title in t)
        assert trace_points(spec) > 0, title
    lines = conclusion_lines(at)
    first = next(s for s in lines if "mean cos(G, G')" in s)
    bn_cos, plain_cos = (float(v) for v in re.findall(r"\*\*(-?[0-9.]+)\*\*", first)[:2])
    assert -1.0 <= bn_cos <= 1.0 and -1.0 <= plain_cos <= 1.0
    assert plain_cos > 0.9  # the plain sigmoid net barely shifts its gradients
    assert any("BN trained" in s for s in lines)
    assert any(s.startswith("- **Noisy BN**") for s in lines)


def test_dist_metric_and_deep_linear_deep_link():
    at = open_page(PAGE, {"setup": "deep-linear", "steps": "20", "ics": "10", "metric": "dist",
                          "depth": "6"})
    key = run_key(at)
    assert key["dataset"] == "deep-linear" and key["depth"] == 6 and key["steps"] == 20
    poll(at, 40, until=run_finished)
    at.run()
    no_exceptions(at)
    spec = next(s for s in chart_specs(at) if "per layer" in s["layout"]["title"]["text"])
    assert spec["layout"]["title"]["text"].startswith("||G - G'||")
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert trace_points(spec) == 3 * 7
    assert not any(s for s in conclusion_lines(at) if "accuracy" in s)  # regression


def test_out_of_range_url_is_clamped_with_a_notice():
    at = open_page(PAGE, {**FAST, "ics": "-5", "setup": "nonsense"})
    no_exceptions(at)
    assert run_key(at)["ics_every"] == 0
    assert run_key(at)["dataset"] == "mnist-subset"
    notices = " ".join(w.value for w in at.warning)
    assert "ics" in notices and "setup" in notices
    at.run()
    assert "ICS measurement is off" in " ".join(w.value for w in at.warning)
