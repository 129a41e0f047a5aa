"""The gradients and learning rates page (T5, T9): it loads, its controls and scenario buttons
change what is trained, and its charts carry the run's data: a deep plain sigmoid net's lowest
layer gets a gradient orders of magnitude below its output layer's, the BN net's does not; at
x30 the plain ReLU net diverges and the page says at which step."""

import numpy as np
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

from bn_core.engine import training
from bn_core.config import RunConfig

PAGE = "pages/6_Gradients_and_learning_rates.py"


def test_the_engine_records_gradient_norms_at_every_probe_after_step_0():
    cfg = RunConfig(dataset="moons", n_samples=100, depth=1, width=4, batch_size=20, steps=2,
                    probe_every=1, eval_every=2, grid_resolution=0, heldout_size=20)
    g = training.train_to_end(cfg).nets["plain"].probes["grad_norm"]
    assert np.isnan(g[0]).all() and np.isfinite(g[1:]).all() and (g[1:] > 0).all()


def chart(at, title_start):
    for spec in chart_specs(at):
        if spec["layout"]["title"]["text"].startswith(title_start):
            return spec
    raise KeyError(title_start)


def test_defaults_are_a_deep_sigmoid_net_on_mnist():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    assert (key["dataset"], key["activation"], key["depth"]) == ("mnist-subset", "sigmoid", 10)
    assert key["lr_multiplier"] == 1.0 and key["steps"] <= 5000


def test_url_widgets_and_scenarios_change_the_run_key():
    at = open_page(PAGE, {"steps": "100", "lrx": "30", "act": "relu", "depth": "4"})
    no_exceptions(at)
    key = run_key(at)
    assert (key["lr_multiplier"], key["activation"], key["depth"]) == (30.0, "relu", 4)
    widget(at, "lr_multiplier").set_value(5.0).run()
    assert run_key(at)["lr_multiplier"] == 5.0
    widget(at, "init").set_value("scaled").run()
    widget(at, "init_scale").set_value(3.0).run()
    assert (run_key(at)["init"], run_key(at)["init_scale"]) == ("scaled", 3.0)
    at.button(key="scenario:Deep sigmoid (vanishing gradients)").click().run()
    key = run_key(at)
    assert (key["activation"], key["depth"], key["lr_multiplier"], key["init"]) == \
        ("sigmoid", 10, 1.0, "default")
    assert key["steps"] == 100  # a scenario keeps the run length
    at.button(key="scenario:ReLU, x30 (BN-x30)").click().run()
    key = run_key(at)
    assert (key["activation"], key["depth"], key["lr_multiplier"], key["init"], key["lr"]) == \
        ("relu", 10, 30.0, "he", 0.1)
    assert at.query_params["lrx"] == ["30"] or at.query_params["lrx"] == "30"
    no_exceptions(at)


def test_deep_sigmoid_gradient_vanishes_without_bn():
    at = open_page(PAGE, {"steps": "60"})
    poll(at, 45, until=finished)
    no_exceptions(at)
    specs = chart_specs(at)
    assert len(specs) == 4 and all(trace_points(s) > 0 for s in specs)
    prof = chart(at, "Gradient size of each weight matrix")
    latest = {t["name"].split(" at step")[0]: decoded(t["y"]) for t in prof["data"]
              if t["line"]["width"] > 3}
    plain, bn = latest["Plain"], latest["BN"]
    assert plain[0] / plain[-1] < 1e-3   # layer 1 gets a vanishing share of the signal
    assert bn[0] / bn[-1] > 1e-1         # with BN it arrives
    acc = chart(at, "How each net learns")
    for trace in acc["data"]:
        if trace.get("xaxis") == "x2":
            y = decoded(trace["y"])
            assert np.all((y >= 0) & (y <= 1))
    text = " ".join(m.value for m in at.markdown)
    assert "powers of ten smaller at the bottom" in text


def test_x30_relu_plain_net_diverges_and_bn_trains():
    """An old link (init=2 meant N(0, 4/fan_in) before `init` existed) still gives that net."""
    at = open_page(PAGE, {"steps": "60", "act": "relu", "depth": "6", "width": "100",
                          "init": "2", "lr": "0.05", "lrx": "30"})
    assert (run_key(at)["init"], run_key(at)["init_scale"]) == ("scaled", 2.0)
    poll(at, 45, until=finished)
    no_exceptions(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "Plain net **diverged at step" in warnings
    curves = chart(at, "How each net learns")
    names = [t.get("name") or "" for t in curves["data"]]
    assert any(n.startswith("Plain (diverged at step") for n in names)
    assert any(s.get("type") == "line" for s in curves["layout"].get("shapes", []))
    bn_acc = [decoded(t["y"]) for t in curves["data"]
              if t.get("name") == "BN" and t.get("xaxis") == "x2"][0]
    assert bn_acc[-1] > bn_acc[0]  # the BN net learns at the same rate


def test_bad_url_values_are_clamped_with_a_notice():
    at = open_page(PAGE, {"steps": "100", "lrx": "1000", "depth": "-3", "data": "imagenet"})
    no_exceptions(at)
    key = run_key(at)
    assert key["lr_multiplier"] == 100.0 and key["depth"] == 1
    assert key["dataset"] == "mnist-subset"
    notices = " ".join(w.value for w in at.warning)
    assert "lrx=1000" in notices and "depth=-3" in notices and "data=imagenet" in notices


def test_large_init_scenario_shows_exploding_gradients_on_the_page():
    at = open_page(PAGE, {"steps": "40"})
    at.button(key="scenario:Large init (exploding gradients)").click().run()
    key = run_key(at)
    assert (key["init"], key["init_scale"], key["lr"], key["steps"]) == ("scaled", 3.0, 0.0001, 40)
    poll(at, 60, until=finished)
    no_exceptions(at)
    text = " ".join(m.value for m in at.markdown)
    assert "**Exploding gradients:** at step 20 the plain net's gradients were" in text
    prof = chart(at, "Gradient size of each weight matrix")
    latest = {t["name"].split(" at step")[0]: decoded(t["y"]) for t in prof["data"]
              if t["line"]["width"] > 3}
    assert np.median(latest["Plain"] / latest["BN"]) >= 10  # the chart shows what the text says
