"""The command line: Figure 1 (CSV and HTML), the two-process run equal to the lockstep twin run,
the ICS reproduction, the bench JSON, and clear errors for bad input."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bn_core.__main__ import main
from bn_core.reproduce import figure1_config, figure1_rows, summarise_figure1, train_nets


@pytest.fixture(scope="module")
def fig1_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig1")
    assert main(["reproduce", "fig1", "--steps", "600", "--out", str(out), "--jobs", "2"]) == 0
    return out


def test_fig1_csv_has_a_row_per_net_every_100_steps(fig1_run):
    with (fig1_run / "fig1.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["step", "net", "test_acc", "train_loss", "p15", "p50", "p85"]
    for net in ("plain", "bn"):
        steps = [int(r["step"]) for r in rows if r["net"] == net]
        assert steps[0] == 0 and steps[-1] == 600
        assert max(np.diff(steps)) <= 100
        mine = [r for r in rows if r["net"] == net]
        assert all(float(r["p15"]) <= float(r["p50"]) <= float(r["p85"]) for r in mine)
        assert all(0.0 <= float(r["test_acc"]) <= 1.0 for r in mine)
    html = (fig1_run / "fig1.html").read_text()
    assert "plotly" in html.lower() and "held-out accuracy" in html


def test_bn_is_ahead_at_step_300_and_its_band_moves_less(fig1_run):
    """The paper's Figure 1 claims, measured on the bundled MNIST subset."""
    with (fig1_run / "fig1.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    acc = {(r["net"], int(r["step"])): float(r["test_acc"]) for r in rows}
    assert acc[("bn", 300)] > acc[("plain", 300)] + 0.1
    travel = {}
    for net in ("plain", "bn"):
        p50 = np.array([float(r["p50"]) for r in rows if r["net"] == net])
        travel[net] = np.abs(np.diff(p50)).sum()
    assert travel["plain"] > travel["bn"]


def test_two_processes_give_exactly_the_lockstep_twin_run():
    config = figure1_config(steps=200).replace(probe_every=50, eval_every=50)
    together = train_nets(config, jobs=1)
    apart = train_nets(config, jobs=2)
    for net in ("plain", "bn"):
        np.testing.assert_array_equal(together[net].probes["unit_pct"], apart[net].probes["unit_pct"])
        np.testing.assert_array_equal(together[net].evals["heldout_acc"], apart[net].evals["heldout_acc"])
    assert json.dumps(figure1_rows(together)) == json.dumps(figure1_rows(apart))  # NaN-safe
    summary = summarise_figure1(together, at_step=100)
    assert set(summary) == {"plain", "bn"}


def test_ics_reproduction_writes_per_layer_rows(tmp_path, capsys):
    assert main(["reproduce", "ics", "--steps", "30", "--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert set(summary) == {"plain", "bn", "noisy_bn"}
    with (tmp_path / "ics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    layers = {int(r["layer"]) for r in rows}
    assert layers == set(range(1, 26))  # 24 hidden layers + the output layer
    first = [r for r in rows if r["layer"] == "1"]
    assert all(abs(float(r["ics_cos"]) - 1.0) < 1e-4 for r in first)  # nothing below layer 1


def test_landscape_reproduction_writes_a_row_per_step_net_and_step_size(tmp_path, capsys):
    from bn_core.nets.probes import LANDSCAPE_STEP_SIZES

    assert main(["reproduce", "landscape", "--steps", "100", "--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"] == {"activation": "sigmoid", "depth": 3, "init": "default",
                                 "lr": 0.5, "steps": 100, "seed": 0}
    with (tmp_path / "landscape.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["step", "net", "eta_over_lr", "loss", "grad_change"]
    keys = {(int(r["step"]), r["net"], float(r["eta_over_lr"])) for r in rows}
    assert keys == {(step, net, eta) for step in (50, 100) for net in ("plain", "bn")
                    for eta in LANDSCAPE_STEP_SIZES}
    assert len(rows) == len(keys)
    assert all(np.isfinite(float(r["loss"])) and float(r["grad_change"]) > 0 for r in rows)
    for net in ("plain", "bn"):  # the summary is the median over steps of each step's range
        ranges = [np.ptp([float(r["loss"]) for r in rows if r["net"] == net and
                          int(r["step"]) == step]) for step in (50, 100)]
        assert summary[net]["median_loss_range"] == pytest.approx(np.median(ranges), abs=2e-4)
        assert summary[net]["measurements"] == 2
    html = (tmp_path / "landscape.html").read_text()
    assert "plotly" in html.lower() and "beta-smoothness" in html  # a panel title (wrapped)


def test_landscape_reproduction_of_a_relu_net(tmp_path, capsys):
    argv = ["reproduce", "landscape", "--activation", "relu", "--lr", "0.1", "--steps", "50",
            "--seed", "3", "--out", str(tmp_path)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"] == {"activation": "relu", "depth": 6, "init": "he", "lr": 0.1,
                                 "steps": 50, "seed": 3}
    with (tmp_path / "landscape.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 2 * 5  # one measurement, 2 nets, 5 step sizes


def test_bench_prints_the_ratio(capsys):
    assert main(["bench", "--steps", "200"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ratio_twin_over_bare_sequential"] == pytest.approx(
        report["twin_run_steps_per_s"] / report["bare_sequential_twin_steps_per_s"], rel=0.01)
    assert report["twin_run_status"] == "finished"
    assert report["snapshot_read_ms_median"] is not None
    assert set(report["probe_costs_mnist"]) == {"plain", "bn"}


@pytest.mark.parametrize("argv,needle", [
    (["reproduce", "fig1", "--steps", "0"], "steps"),
    (["reproduce", "fig1", "--steps", "-3"], "steps"),
    (["reproduce", "landscape", "--lr", "-1"], "lr"),
    (["reproduce", "landscape", "--steps", "0"], "steps"),
])
def test_bad_input_is_one_clear_line(argv, needle, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
