"""Hostile inputs of issue 15, one builder per recipe: each writes a file (or returns arrays) that once escaped the
reader or a kernel as a foreign exception or a silent wrong result. Shared by the regression tests
(tests/test_robustness.py) and the fuzz suite (tests/fuzz/)."""
from __future__ import annotations

import collections
import io
import os
import zipfile
from pathlib import Path

import numpy as np

LENET_SHAPES = ((300, 784), (100, 300), (10, 100))

#: fuzz cases run per family (reported at the end of the session, see conftest.py)
CASES: collections.Counter = collections.Counter()
#: examples per fuzz test: a bounded sample by default, thousands in the long run
EXAMPLES = int(os.environ.get("HWSIM_FUZZ_EXAMPLES", "20"))


def lenet_weights(seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """A LeNet-300-100-shaped weights dict (fc1, fc2, fc3), seeded."""
    rng = np.random.default_rng(seed)
    return {f"fc{i + 1}": (0.05 * rng.standard_normal(s)).astype(dtype) for i, s in enumerate(LENET_SHAPES)}


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_header_claiming(shape: tuple[int, ...], descr: str = "<f8", payload: bytes = b"\0" * 64) -> bytes:
    """A .npy member whose header claims ``shape`` but which holds only ``payload``."""
    hdr = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    hdr = hdr + b" " * ((-(10 + len(hdr) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + payload


def write_zip(path: Path, members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _patch_headers(data: bytes, local_off: int, central_off: int, value: int, size: int = 1) -> bytes:
    """Set a field (``size`` bytes, little-endian) at ``local_off`` of every local header and ``central_off`` of
    every central-directory entry."""
    d = bytearray(data)
    for sig, off in ((b"PK\x03\x04", local_off), (b"PK\x01\x02", central_off)):
        i = d.find(sig)
        while i >= 0:
            d[i + off:i + off + size] = value.to_bytes(size, "little")
            i = d.find(sig, i + 4)
    return bytes(d)


def encrypted(path: Path) -> Path:
    """Every member flagged as encrypted (general-purpose flag bit 0)."""
    np.savez(path, **lenet_weights())
    d = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = d.find(sig)
        while i >= 0:
            d[i + off] |= 1
            i = d.find(sig, i + 4)
    path.write_bytes(bytes(d))
    return path


def compression_method(path: Path, method: int) -> Path:
    """Every member claiming compression ``method`` (9 = deflate64, 99 = AES: both unsupported)."""
    np.savez(path, **lenet_weights())
    path.write_bytes(_patch_headers(path.read_bytes(), 8, 10, method, 2))
    return path


def not_npy(path: Path) -> Path:
    """The issue's recipe: ``zipfile.ZipFile('x.npz','w').writestr('readme.txt', b'hi')``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", b"hi")
    return path


def huge_header(path: Path) -> Path:
    """A member whose header claims 10^12 float64 elements (7.28 TiB)."""
    return write_zip(path, {"fc1.npy": npy_header_claiming((1_000_000, 1_000_000))})


def corrupt_deflate(path: Path) -> Path:
    """A compressed archive with bytes flipped inside the first member's deflate stream."""
    np.savez_compressed(path, **lenet_weights())
    d = bytearray(path.read_bytes())
    for i in range(200, 400):
        d[i] ^= 0x55
    path.write_bytes(bytes(d))
    return path


def corrupt_npy_header(path: Path) -> Path:
    """The first member's header dict with its 'descr' key renamed."""
    np.savez(path, **lenet_weights())
    d = bytearray(path.read_bytes())
    k = d.find(b"'descr'")
    d[k + 1:k + 6] = b"XXXXX"
    path.write_bytes(bytes(d))
    return path


#: name -> builder(path) of every hostile weights file of root cause 1
READER_RECIPES = {
    "encrypted": encrypted,
    "method9": lambda p: compression_method(p, 9),
    "method99": lambda p: compression_method(p, 99),
    "not_npy": not_npy,
    "huge_header": huge_header,
    "corrupt_deflate": corrupt_deflate,
    "corrupt_npy_header": corrupt_npy_header,
}
