"""Tests for bn_core/data/idx.py: the IDX format, plain and gzip'd."""

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bn_core.data.idx import IDXError, idx_bytes, read_idx, write_idx

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2)]


def _sample(dtype, shape):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        return (rng.normal(size=shape) * 1e3).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, shape, suffix):
    array = _sample(dtype, shape)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    assert np.array_equal(back, array)
    back[...] = 0  # writable


def test_header_layout_is_the_mnist_one():
    data = idx_bytes(np.arange(6, dtype=np.int16).reshape(2, 3))
    assert data[:4] == bytes([0, 0, 0x0B, 2])
    assert data[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert data[12:14] == (0).to_bytes(2, "big") and data[14:16] == (1).to_bytes(2, "big")


def test_compress_flag_overrides_the_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    plain = write_idx(tmp_path / "x.gz", array, compress=False)
    assert plain.read_bytes() == idx_bytes(array)
    packed = write_idx(tmp_path / "x.idx", array, compress=True)
    assert gzip.decompress(packed.read_bytes()) == idx_bytes(array)
    assert np.array_equal(read_idx(plain), read_idx(packed))


def test_gzip_output_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", array).read_bytes()
    b = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert a == b


def test_unsupported_arrays_are_refused(tmp_path):
    with pytest.raises(IDXError, match="bad.idx"):
        write_idx(tmp_path / "bad.idx", np.zeros(3, dtype=np.uint16))
    with pytest.raises(IDXError, match="dimensions"):
        write_idx(tmp_path / "bad.idx", np.zeros((1,) * 5, dtype=np.uint8))


@settings(max_examples=60, deadline=None, database=None)
@given(
    array=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)),
    compress=st.booleans(),
)
def test_round_trip_property(array, compress):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_idx(Path(tmp) / "p.idx", array, compress=compress)
        back = read_idx(path)
    assert back.shape == array.shape and np.array_equal(back, array)


# --- corrupt files ---------------------------------------------------------------------

GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "name, data, problem",
    [
        ("badmagic.idx", b"\x01\x00" + GOOD[2:], "magic"),
        ("baddtype.idx", GOOD[:2] + b"\x0a" + GOOD[3:], "dtype code 0x0A"),
        ("zerodims.idx", GOOD[:3] + b"\x00" + GOOD[4:], "dimensions"),
        ("fivedims.idx", GOOD[:3] + b"\x05" + GOOD[4:], "dimensions"),
        ("short.idx", GOOD[:2], "too short"),
        ("shortheader.idx", GOOD[:10], "truncated header"),
        ("truncated.idx", GOOD[:-5], "truncated: expected 24 payload bytes, found 19"),
        ("trailing.idx", GOOD + b"\x00\x00", "2 trailing bytes"),
        ("truncated.idx.gz", gzip.compress(GOOD[:-1]), "truncated"),
        ("corrupt.gz", gzip.compress(GOOD)[:-12], "corrupt gzip"),
        ("garbage.gz", b"\x1f\x8b" + b"\xff" * 40, "corrupt gzip"),
    ],
)
def test_corrupt_files_raise_idxerror_naming_the_file(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IDXError) as info:
        read_idx(path)
    assert name in str(info.value)
    assert problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_gzip_is_detected_by_magic_not_by_name(tmp_path):
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    disguised = tmp_path / "looks-plain.idx"
    disguised.write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(disguised), array)
    misnamed = tmp_path / "looks-gzipped.gz"
    misnamed.write_bytes(idx_bytes(array))
    assert np.array_equal(read_idx(misnamed), array)


# --- real data -------------------------------------------------------------------------


@pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION_DIR} is absent)",
)
def test_reads_real_fashion_mnist():
    images = read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and np.array_equal(np.bincount(labels), [6000] * 10)
    assert images.max() == 255 and images[:, 0, 0].max() < 50  # a dark border
