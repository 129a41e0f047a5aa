"""Tests for bn_core/replay.py: a run's JSON export replays to the same values (every history
row, the latest vectors, the decision grids), an older export with its CSV replays the scalar
series, the shipped recordings match their pages' defaults, and every kind of malformed upload
is refused with its own message (never a traceback)."""
from __future__ import annotations

import base64
import gzip
import json

import numpy as np
import pytest

from bn_core import replay
from bn_core.engine.training import train_to_end
from bn_core.export import series_csv, settings_json
from bn_core.replay import ReplayError, from_files

from conftest import toy_config


@pytest.fixture(scope="module")
def run():
    """A short run with a decision grid and ICS rows, so every part of a record is filled."""
    return train_to_end(toy_config(steps=120, grid_resolution=12, ics_every=40))


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def assert_same_record(original, replayed, parts=("probes", "evals", "ics"), latest=True):
    assert list(replayed.nets) == list(original.nets)
    assert replayed.step == original.step and replayed.config.key() == original.config.key()
    for name, net in original.nets.items():
        other = replayed.nets[name]
        assert other.status == net.status and other.step == net.step
        for part in parts:
            mine, theirs = getattr(net, part), getattr(other, part)
            assert len(mine.get("step", ())) > 0 or part == "ics", (name, part)
            assert set(theirs) >= set(mine), (name, part, set(mine) - set(theirs))
            for column, values in mine.items():
                assert same(values, theirs[column]), (name, part, column)
        if latest:
            assert set(other.latest) == set(net.latest)
            for k, v in net.latest.items():
                if isinstance(v, np.ndarray) or isinstance(v, (int, float)):
                    assert same(v, other.latest[k]), (name, k)
            assert same(net.initial_grid, other.initial_grid)


def test_a_json_export_replays_to_the_same_values(run):
    raw = settings_json(run, page="app.py").encode()
    rep = from_files([("bnlab-home.json", raw)])
    assert rep.complete and rep.page == "app.py" and rep.source == "bnlab-home.json"
    snap = rep.snapshot()
    assert not snap.live and snap.status == "finished"
    assert_same_record(run, snap)
    assert len(run.nets["bn"].latest["grid"]) and same(run.nets["bn"].latest["grid"],
                                                      snap.nets["bn"].latest["grid"])
    ckpt, back = run.nets["bn"].checkpoints, snap.nets["bn"].checkpoints
    assert same(ckpt["step"], back["step"]) and same(ckpt["params"], back["params"])
    # exported again, the replay gives the same file: nothing was lost or added on the way
    assert json.loads(settings_json(snap, page="app.py"))["records"] == \
        json.loads(raw)["records"]


def test_counts_are_stored_narrower_and_come_back_in_their_own_type():
    hist = np.array([[0, 3, 250], [7, 1, 0]], np.int32)
    wide = np.array([0, 70_000], np.int64)
    small = replay.encode(hist)
    assert (small["nd"], small["as"]) == ("|u1", "<i4")
    assert len(base64.b64decode(small["b64"])) == hist.size
    assert replay.encode(np.array([300], np.int32))["nd"] == "<u2"
    assert "as" not in replay.encode(wide) and "as" not in replay.encode(-hist)
    for arr in (hist, wide, -hist, np.zeros((0, 3), np.int32)):
        back = replay.decode(json.loads(json.dumps(replay.encode(arr))))
        assert back.dtype == arr.dtype and np.array_equal(back, arr)


def test_a_gzipped_export_replays_too(run):
    raw = gzip.compress(settings_json(run).encode())
    assert_same_record(run, from_files([("run.json.gz", raw)]).snapshot())


def test_an_older_export_and_its_csv_replay_the_scalar_series(run):
    old = settings_json(run, replay=False).encode()
    assert b'"replay"' not in old
    rep = from_files([("bnlab-home.json", old), ("bnlab-home.csv", series_csv(run).encode())])
    assert not rep.complete and rep.page is None
    snap = rep.snapshot()
    for name, net in run.nets.items():
        for part in ("probes", "evals"):
            mine, theirs = getattr(net, part), getattr(snap.nets[name], part)
            for column in ("step", "loss", "heldout_acc", "train_acc"):
                if column in mine:
                    assert np.allclose(np.asarray(mine[column], float),
                                       np.asarray(theirs[column], float), equal_nan=True), \
                        (name, part, column)
    # every column of the CSV comes back: name[i] as vectors, name[layerL][k] as (layers, k)
    header = series_csv(run).splitlines()[0].split(",")
    columns = {c.split("[")[0] for c in header[2:]} - set(run.nets["bn"].evals)
    assert {"unit_pct", "pooled_pct", "grad_norm", "gamma"} <= columns
    for name in ("plain", "bn"):
        for column in columns & set(run.nets[name].probes):
            assert np.allclose(run.nets[name].probes[column],
                               snap.nets[name].probes[column], equal_nan=True), (name, column)
    # what a CSV does not carry (histograms) is absent, not made up
    assert "hist" in run.nets["bn"].probes and "hist" not in snap.nets["bn"].probes


def test_the_shipped_recordings_are_of_their_pages_defaults_and_small():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from record_replays import recordings

    files = sorted(replay.REPLAY_DIR.glob("*.json.gz"))
    assert files, "no recording ships with the app"
    assert sum(p.stat().st_size for p in files) < 2 * 2**20
    shipped = {}
    for page, configs in recordings().values():
        for config in configs:
            rep = replay.shipped(config)
            if rep is not None:
                shipped[page] = rep
                assert rep.config.key() == config.key() and rep.page == page
                snap = rep.snapshot()
                assert snap.step == config.steps and snap.status == "finished"
                assert all(len(v.evals["step"]) for v in snap.nets.values())
    assert len(shipped) >= 3, sorted(shipped)
    assert {p.name for p in files} <= {replay.replay_file(c).name
                                       for _, cs in recordings().values() for c in cs}


def _damaged_record(run) -> bytes:
    data = json.loads(settings_json(run))
    data["replay"]["record"]["nets"][0]["parts"] = "nothing"
    return json.dumps(data).encode()


def _executable_dtype(run) -> bytes:
    data = json.loads(settings_json(run))
    grid = data["replay"]["record"]["nets"][0]["latest"]
    name = next(k for k, v in grid.items() if isinstance(v, dict) and "nd" in v)
    grid[name] = {"nd": "|O", "shape": [1], "b64": base64.b64encode(b"x" * 8).decode()}
    return json.dumps(data).encode()


def _bad_config(run) -> bytes:
    data = json.loads(settings_json(run))
    data["config"]["depth"] = "deep"
    return json.dumps(data).encode()


def _text_in_csv(run) -> bytes:
    text = series_csv(run).splitlines()
    head, first = text[0].split(","), text[1].split(",")
    first[head.index("loss")] = "lots"
    return "\n".join([text[0], ",".join(first)] + text[2:]).encode()


BAD = {
    # kind: (files built from the run, words the message must contain)
    "nothing": (lambda r: [], "No file"),
    "empty": (lambda r: [("a.json", b"")], "exactly one JSON"),
    "not json": (lambda r: [("a.json", b"{this is not json")], "is not a JSON file"),
    "binary": (lambda r: [("a.json", b"{\xff\xfe\x00")], "is not a JSON file"),
    "a list": (lambda r: [("a.json", b"[1, 2]")], "not a JSON object"),
    "no settings": (lambda r: [("a.json", b'{"step": 3}')], "no run settings"),
    "bad settings": (lambda r: [("a.json", _bad_config(r))], "not valid here"),
    "damaged record": (lambda r: [("a.json", _damaged_record(r))], "is damaged"),
    "object array": (lambda r: [("a.json", _executable_dtype(r))], "not a recorded number type"),
    "csv alone": (lambda r: [("a.csv", series_csv(r).encode())], "the CSV alone"),
    "two jsons": (lambda r: [("a.json", settings_json(r).encode()),
                             ("b.json", settings_json(r).encode())], "(got 2)"),
    "old json, no csv": (lambda r: [("a.json", settings_json(r, replay=False).encode())],
                         "upload its series CSV"),
    "csv not ours": (lambda r: [("a.json", settings_json(r, replay=False).encode()),
                                ("a.csv", b"x1,x2,label\n1,2,0\n")], "needs the columns"),
    "text in csv": (lambda r: [("a.json", settings_json(r, replay=False).encode()),
                               ("a.csv", _text_in_csv(r))], "not a number"),
    "huge": (lambda r: [("a.json", b"{" + b" " * (replay.MAX_UPLOAD_BYTES + 1) + b"}")],
             "at most 5 MB"),
    "gzip bomb": (lambda r: [("a.json.gz", gzip.compress(
        b"{" + b" " * (replay.MAX_UNPACKED_BYTES + 10) + b"}"))], "unpacks to more than"),
    "broken gzip": (lambda r: [("a.json.gz", gzip.compress(b'{"a": 1}')[:12])],
                    "not a readable gzip"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_every_kind_of_malformed_upload_is_refused_with_its_own_message(run, kind):
    build, words = BAD[kind]
    with pytest.raises(ReplayError) as err:
        from_files(build(run))
    assert words in str(err.value), str(err.value)
