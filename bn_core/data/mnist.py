"""MNIST-style image data for the paper's experiment (T4): find, load, download.

Three sources, all in the standard MNIST IDX layout:
- "mnist-subset": 5,000 real MNIST digits bundled in assets/mnist_subset/ (always there);
- "mnist": the full MNIST files in $BNLAB_MNIST_DIR, else ~/.cache/bnlab/mnist
  (fill it with `download_mnist()`);
- "fashion-mnist": Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist,
  or $BNLAB_FASHION_MNIST_DIR.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from bn_core.data.datasets import Dataset, Whitener
from bn_core.data.idx import IDXError, read_idx

MNIST_SOURCES = ("mnist-subset", "mnist", "fashion-mnist")
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10

SUBSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "mnist_subset"
MNIST_DIR_ENV = "BNLAB_MNIST_DIR"
MNIST_DEFAULT_DIR = Path("~/.cache/bnlab/mnist")
FASHION_DIR_ENV = "BNLAB_FASHION_MNIST_DIR"
FASHION_DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")

# part -> accepted file names (standard name first), each also accepted with ".gz"
IDX_FILE_NAMES: dict[str, tuple[str, ...]] = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

CLASS_NAMES: dict[str, list[str]] = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the mirror torchvision uses
MNIST_MD5 = {  # of the original files published on yann.lecun.com
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_COUNTS = {"train": 60000, "test": 10000}


def class_names(source: str) -> list[str]:
    """Names of the ten classes of `source` (digits for both MNIST sources)."""
    _check_source(source)
    return CLASS_NAMES["fashion-mnist" if source == "fashion-mnist" else "mnist"]


def _check_source(source: str) -> None:
    if source not in MNIST_SOURCES:
        raise ValueError(f"unknown image source {source!r}; choose one of {MNIST_SOURCES}")


def source_folder(source: str) -> Path:
    """The folder searched for `source` (it may not exist)."""
    _check_source(source)
    if source == "mnist-subset":
        return SUBSET_DIR
    env, default = (MNIST_DIR_ENV, MNIST_DEFAULT_DIR) if source == "mnist" else (FASHION_DIR_ENV, FASHION_DEFAULT_DIR)
    configured = os.environ.get(env)
    return Path(configured).expanduser() if configured else default.expanduser()


def find_idx_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files of `folder` by part, or None if any is missing."""
    found = {}
    for part, names in IDX_FILE_NAMES.items():
        candidates = [folder / f"{name}{suffix}" for name in names for suffix in ("", ".gz")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        found[part] = path
    return found


def available_sources() -> dict[str, str | None]:
    """For each source, the folder holding its four files, or None if it is not available."""
    result = {}
    for source in MNIST_SOURCES:
        folder = source_folder(source)
        result[source] = str(folder) if find_idx_files(folder) is not None else None
    return result


def _signature(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=6)
def _read_split(images_sig: tuple[str, int, int], labels_sig: tuple[str, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (n, 28, 28) and labels uint8 (n,), validated; read-only because cached.

    Keyed by (path, mtime, size), so a rewritten file is read again.
    """
    images_path, labels_path = Path(images_sig[0]), Path(labels_sig[0])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: expected uint8 images of shape (n, 28, 28), found {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected a 1-D uint8 label array, found {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    if len(labels) and labels.max() >= N_CLASSES:
        raise ValueError(f"{labels_path}: labels must be in 0..9, found {int(labels.max())}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_raw(source: str = "mnist-subset") -> dict[str, np.ndarray]:
    """The uint8 arrays {train_images, train_labels, test_images, test_labels} of `source` (cached)."""
    _check_source(source)
    folder = source_folder(source)
    files = find_idx_files(folder)
    if files is None:
        wanted = ", ".join(names[0] + "[.gz]" for names in IDX_FILE_NAMES.values())
        hint = {
            "mnist": f"set {MNIST_DIR_ENV} or run bn_core.data.mnist.download_mnist()",
            "fashion-mnist": f"install dataset-fashion-mnist or set {FASHION_DIR_ENV}",
            "mnist-subset": "rebuild it with scripts/build_mnist_subset.py",
        }[source]
        raise ValueError(f"image source {source!r} is not available: {folder} lacks {wanted} ({hint})")
    train = _read_split(_signature(files["train_images"]), _signature(files["train_labels"]))
    test = _read_split(_signature(files["test_images"]), _signature(files["test_labels"]))
    return {"train_images": train[0], "train_labels": train[1], "test_images": test[0], "test_labels": test[1]}


def _as_inputs(images: np.ndarray, limit: int | None, binarize: bool) -> np.ndarray:
    images = images[:limit] if limit is not None else images
    x = images.reshape(len(images), -1)
    if binarize:
        return (x > 127).astype(np.float32)  # == (x / 255 > 0.5) for integer pixels
    return x.astype(np.float32) / np.float32(255.0)


def load_mnist(
    source: str = "mnist-subset",
    binarize: bool = False,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Dataset:
    """An image Dataset: x flattened to 784 float32 in [0, 1] (or 0/1 if `binarize`, as in
    the BN paper), 10 classes, held-out = test, no whitening.

    max_train / max_test keep the first examples of each file (the files are not sorted
    by class). Raises ValueError if the source is not available; IDXError for a corrupt file.
    """
    raw = load_raw(source)
    for name, limit in (("max_train", max_train), ("max_test", max_test)):
        if limit is not None and limit < 0:
            raise ValueError(f"{name} must be >= 0, got {limit}")
    x_train = _as_inputs(raw["train_images"], max_train, binarize)
    x_test = _as_inputs(raw["test_images"], max_test, binarize)
    y_train = raw["train_labels"][: len(x_train)].astype(np.int64)
    y_test = raw["test_labels"][: len(x_test)].astype(np.int64)
    dim = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    return Dataset(
        name=source,
        x_train=x_train,
        y_train=y_train,
        x_heldout=x_test,
        y_heldout=y_test,
        x_test=x_test,
        y_test=y_test,
        n_classes=N_CLASSES,
        input_dim=dim,
        image_shape=IMAGE_SHAPE,
        whitener=_identity_whitener(dim),
    )


@functools.lru_cache(maxsize=1)
def _identity_whitener(dim: int) -> Whitener:
    return Whitener.identity(dim)


ProgressCallback = Callable[[int, int, str], None]


def download_mnist(
    dest: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    base_url: str = MNIST_BASE_URL,
    timeout: float = 60.0,
) -> Path:
    """Download the four MNIST .gz files into `dest` (default: the "mnist" folder).

    Files already present and valid are kept (a cache). Each download goes to a temporary
    name, is checked (MD5 of the original files, then read_idx and the expected count)
    and only then renamed into place. progress(done_bytes, total_bytes, filename) is
    called as bytes arrive (total_bytes is 0 if the server does not say).
    """
    folder = Path(dest).expanduser() if dest is not None else source_folder("mnist")
    folder.mkdir(parents=True, exist_ok=True)
    for name, md5 in MNIST_MD5.items():
        target = folder / name
        if target.is_file() and _md5(target) == md5:
            continue
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(base_url.rstrip("/") + "/" + name, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                while block := response.read(1 << 16):
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total, name)
            if _md5(tmp) != md5:
                raise IDXError(f"{base_url}{name}: downloaded file has MD5 {_md5(tmp)}, expected {md5}")
            array = read_idx(tmp)
            expected = MNIST_COUNTS["train" if name.startswith("train") else "test"]
            if len(array) != expected:
                raise IDXError(f"{base_url}{name}: expected {expected} entries, found {len(array)}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return folder


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
