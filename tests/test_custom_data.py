"""A student's own 2-D data (bn_core/data/custom.py): every kind of bad file gets its own clear
message and leaves the store as it was; a good one is named by its content; its runs train in
the worker processes (the points travel with the start command), and through the in-process
backend."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bn_core.config import RunConfig
from bn_core.data import custom
from bn_core.data.custom import UploadError, parse_csv

from conftest import wait_until


def two_blobs(n: int = 60, seed: int = 0, labels=("a", "b"), offset: float = 2.0) -> bytes:
    """A CSV of two Gaussian blobs (class a left, class b right)."""
    rng = np.random.default_rng(seed)
    rows = ["x1,x2,label"]
    for i in range(n):
        k = i % 2
        x = rng.normal((-offset if k == 0 else offset, 0.0), 0.6)
        rows.append(f"{x[0]:.4f},{x[1]:.4f},{labels[k]}")
    return ("\n".join(rows) + "\n").encode()


def rows(n: int, label=lambda i: i % 2, x1=lambda i: f"{i * 0.1:.2f}") -> bytes:
    lines = ["x1,x2,label"] + [f"{x1(i)},{(i * 7 % 11) * 0.1:.2f},{label(i)}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


BAD_FILES = {
    "empty": (b"", "The file is empty"),
    "huge": (b"x1,x2,label\n" + b"0.123456789,0.987654321,1\n" * 20_000, "at most 200 KB"),
    "wrong columns": (b"a,b,c\n1,2,0\n3,4,1\n", "must name the columns x1, x2 and label"),
    "an extra column": (b"x1,x2,label,colour\n" + b"1,2,0,red\n" * 30, "Unexpected column"),
    "text in numbers": (rows(30).replace(b"0.50,", b"five,", 1), "x1 is `five`, not a number"),
    "NaN": (rows(30).replace(b"0.50,", b"nan,", 1), "not a finite number"),
    "infinity": (rows(30).replace(b"0.50,", b"inf,", 1), "not a finite number"),
    "one class": (rows(30, label=lambda i: 1), "a classifier needs at least 2 classes"),
    "50 classes": (rows(200, label=lambda i: i % 50), "50 different labels: at most 10 classes"),
    "not CSV at all": (bytes(range(256)) * 40, "not a CSV text file"),
    "a picture": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "not a CSV text file"),
    "too few points": (rows(8), "at least 20 are needed"),
    "a ragged row": (rows(30) + b"1,2\n", "has 2 values; the header has 3 columns"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_every_kind_of_bad_file_gets_its_own_message_and_changes_nothing(kind):
    good = custom.register(parse_csv(two_blobs()))
    before = (len(custom.STORE), custom.STORE.nbytes())
    raw, needle = BAD_FILES[kind]
    with pytest.raises(UploadError) as err:
        parse_csv(raw)
    assert needle in str(err.value), str(err.value)
    assert "Traceback" not in str(err.value) and len(str(err.value)) < 300
    assert (len(custom.STORE), custom.STORE.nbytes()) == before
    assert custom.STORE.get(good) is not None


def test_a_good_file_is_named_by_its_content_and_reads_back():
    points = parse_csv(two_blobs())
    assert custom.is_custom(points.name) and points.n_classes == 2 and len(points.x) == 60
    assert points.classes == ("a", "b") and points.counts() == [30, 30]
    # the same points in another order of columns, with spaces and Windows line ends: same name
    text = two_blobs().decode().splitlines()
    swapped = ["label,x2,x1"] + [",".join(reversed(r.split(","))) for r in text[1:]]
    assert parse_csv(("\r\n".join(swapped)).encode()).name == points.name
    assert parse_csv(points.to_csv().encode()).name == points.name
    assert parse_csv(two_blobs(seed=1)).name != points.name


def test_labels_sort_as_numbers_and_a_semicolon_file_reads():
    p = parse_csv(rows(40, label=lambda i: (2, 10)[i % 2]).replace(b",", b";"))
    assert p.classes == ("2", "10") and p.counts() == [20, 20]


def test_the_split_holds_out_a_fifth_of_each_class_and_is_fixed_by_the_content():
    points = parse_csv(two_blobs(n=50))
    train, held = custom.split(points)
    assert len(train) + len(held) == 50 and not set(train) & set(held)
    assert np.bincount(points.y[held]).tolist() == [5, 5]
    again = custom.split(parse_csv(two_blobs(n=50)))
    assert all(np.array_equal(a, b) for a, b in zip((train, held), again))


def test_the_store_is_bounded_in_count_and_bytes():
    store = custom.DataStore(max_sets=3, max_bytes=10**9)
    names = [store.add(parse_csv(two_blobs(seed=s))) for s in range(5)]
    assert len(store) == 3 and store.get(names[0]) is None and store.get(names[4]) is not None
    small = custom.DataStore(max_sets=100, max_bytes=2000)
    for s in range(4):
        small.add(parse_csv(two_blobs(seed=s)))   # ~540 bytes each
    assert small.nbytes() <= 2000 and len(small) == 2


def test_a_config_accepts_the_name_and_refuses_other_names():
    name = custom.register(parse_csv(two_blobs()))
    cfg = RunConfig(dataset=name, grid_resolution=20)
    assert cfg.is_toy and name in cfg.key()
    for bad in ("custom:xyz", "custom:" + "0" * 15, "custom:" + "A" * 16, "mystery"):
        with pytest.raises(ValueError, match="dataset"):
            RunConfig(dataset=bad)
    cfg2, notices = RunConfig.from_query({"data": "custom:nothex"})
    assert cfg2.dataset == RunConfig().dataset and notices


def test_a_received_data_set_must_match_its_name():
    points = parse_csv(two_blobs())
    forged = custom.CustomPoints(x=points.x, y=1 - points.y, classes=points.classes,
                                 name=points.name)
    with pytest.raises(ValueError, match="other content"):
        custom.receive(forged)


def test_an_unknown_data_set_cannot_train_and_says_why():
    from bn_core.engine.training import check_config

    name = "custom:" + "f" * 16
    with pytest.raises(ValueError, match="not on this server"):
        check_config(RunConfig(dataset=name))


def _train_on(backend_registry, name):
    cfg = RunConfig(dataset=name, depth=2, width=8, steps=200, probe_every=20, eval_every=20,
                    grid_resolution=20, batch_size=16, heldout_size=100, lr=0.5)
    run = backend_registry.start(cfg)
    assert run.wait(120), run.status
    return run


def test_a_good_upload_trains_in_process(no_leaked_threads):
    from bn_core.engine.registry import RunRegistry

    name = custom.register(parse_csv(two_blobs(n=80)))
    registry = RunRegistry(idle_timeout=None)
    run = _train_on(registry, name)
    snap = run.snapshot()
    assert run.status == "finished", snap.message
    assert snap.data.x_train.shape == (64, 2) and snap.data.n_classes == 2
    assert snap.nets["bn"].latest["grid"].shape[:2] == (20, 20)
    assert snap.nets["bn"].evals["heldout_acc"][-1] >= 0.9  # two well-separated blobs
    registry.clear()


@pytest.mark.slow
def test_a_good_upload_trains_on_the_worker_backend():
    """The worker processes hold no data sets of their own: the points reach them with the
    start command. A data set the server forgot cannot start (a clear message)."""
    from bn_core.engine.backends.workers import WorkerBackend
    from bn_core.engine.registry import RunRegistry

    points = parse_csv(two_blobs(n=80, seed=3))
    name = custom.register(points)
    backend = WorkerBackend(1)
    try:
        assert backend.wait_ready(180)
        registry = RunRegistry(backend=backend, idle_timeout=None)
        run = _train_on(registry, name)
        snap = run.snapshot()
        assert run.status == "finished", snap.message
        # trained in the worker process: this process never built the nets
        assert backend.pids() and __import__("os").getpid() not in backend.pids()
        assert snap.nets["bn"].evals["heldout_acc"][-1] >= 0.9
        assert math.isfinite(snap.nets["plain"].evals["heldout_loss"][-1])
        registry.clear()
    finally:
        backend.shutdown()
