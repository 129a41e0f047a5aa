"""Read and write the IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number of
dimensions), the dimensions as big-endian 32-bit integers, then the payload in
big-endian C order. The files are often gzip'd; gzip is recognised by its magic bytes.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
MAX_DIMS = 4

# IDX dtype code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}


class IDXError(ValueError):
    """A file is not a valid IDX file (the message names the file and the problem)."""


def _decompress(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXError(f"{path}: corrupt gzip stream ({exc})") from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a plain or gzip'd IDX file into a writable, native-endian numpy array.

    Raises IDXError naming the file for any format problem; a missing file raises
    FileNotFoundError as usual.
    """
    path = Path(path)
    raw = path.read_bytes()
    data = _decompress(path, raw) if raw[:2] == GZIP_MAGIC else raw

    if len(data) < 4:
        raise IDXError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise IDXError(f"{path}: bad magic number {data[:4].hex()} (must start with two zero bytes)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(f"{path}: unknown dtype code 0x{code:02X} (expected one of {known})")
    if not 1 <= ndim <= MAX_DIMS:
        raise IDXError(f"{path}: unsupported number of dimensions {ndim} (expected 1..{MAX_DIMS})")

    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXError(
            f"{path}: truncated header: expected {header_len} bytes for {ndim} dimensions, found {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_len
    if found < expected:
        raise IDXError(f"{path}: truncated: expected {expected} payload bytes, found {found} (dims {dims})")
    if found > expected:
        raise IDXError(
            f"{path}: {found - expected} trailing bytes: expected {expected} payload bytes, found {found} (dims {dims})"
        )
    flat = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_len)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX encoding of `array` (dtype uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in _CODE_OF:
        raise IDXError(f"dtype {array.dtype} has no IDX code (use uint8, int8, int16, int32, float32, float64)")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise IDXError(f"IDX supports 1..{MAX_DIMS} dimensions here, got an array with {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise IDXError(f"dimension too large for IDX: {array.shape}")
    code = _CODE_OF[key]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    return header + payload


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file, gzip'd if `compress` (default: if the name ends in .gz).

    The gzip stream has no timestamp or name, so equal arrays give byte-identical files;
    the file is written under a temporary name and renamed, so it is never half-written.
    """
    path = Path(path)
    try:
        data = idx_bytes(array)
    except IDXError as exc:
        raise IDXError(f"{path}: {exc}") from None
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
