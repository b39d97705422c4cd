"""Hostile inputs of issue 15, one builder per recipe: each writes a file (or returns arrays) that once escaped the
reader or a kernel as a foreign exception or a silent wrong result. Shared by the regression tests
(tests/test_robustness.py) and the fuzz suite (tests/fuzz/)."""
from __future__ import annotations

import collections
import contextlib
import io
import os
import pickle
import sys
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


# ---- PyTorch .pt files (issue 12) ------------------------------------------------------------------------------------
def pt_archive(pickle_bytes: bytes, storages: dict | None = None, prefix: str = "archive",
               byteorder: bytes | None = b"little", extra: dict | None = None) -> bytes:
    """A torch.save-shaped zip: PREFIX/data.pkl, PREFIX/data/KEY per storage, bookkeeping members (stored)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pickle_bytes)
        if byteorder is not None:
            z.writestr(f"{prefix}/byteorder", byteorder)
        for k, v in (storages or {}).items():
            z.writestr(f"{prefix}/data/{k}", v)
        z.writestr(f"{prefix}/version", "3\n")
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def _u(s: str) -> bytes:  # BINUNICODE
    b = s.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


class _Evil:
    """What an attacker pickles: unpickling it would run ``os.system(cmd)``."""

    def __init__(self, cmd: str):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def malicious_pickles(marker: Path) -> dict[str, bytes]:
    """Hand-made pickles that would run code -- each touches ``marker`` if it ever runs -- by every route a pickle
    has: GLOBAL + REDUCE, STACK_GLOBAL, INST, OBJ, NEWOBJ, extension codes, Python's own pickling of a __reduce__,
    a trojan tensor inside a state_dict, and BUILD / setattr on the reader's own admitted objects."""
    m = str(marker)
    cmd = f"touch {m}"
    code = f"open({m!r}, 'w').close()"
    rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n"
    od = b"ccollections\nOrderedDict\n)R"
    storage = b"((" + _u("storage") + b"ctorch\nFloatStorage\n" + _u("0") + _u("cpu") + b"K\x04tQ"
    tensor = rebuild + storage + b"K\x00(K\x04t(K\x01t\x89" + od + b"tR"
    return {
        "GLOBAL os.system + REDUCE": b"\x80\x02cos\nsystem\n" + _u(cmd) + b"\x85R.",
        "GLOBAL posix.system + REDUCE": b"\x80\x02cposix\nsystem\n" + _u(cmd) + b"\x85R.",
        "GLOBAL builtins.exec + REDUCE": b"\x80\x02cbuiltins\nexec\n" + _u(code) + b"\x85R.",
        "STACK_GLOBAL builtins.eval": b"\x80\x04" + b"\x8c\x08builtins\x8c\x04eval\x93" + _u(code) + b"\x85R.",
        "STACK_GLOBAL os.system": b"\x80\x04\x8c\x02os\x8c\x06system\x93" + _u(cmd) + b"\x85R.",
        "INST os.system": b"(S'" + cmd.encode() + b"'\nios\nsystem\n.",
        "OBJ subprocess.call": b"\x80\x02(csubprocess\ncall\n" + _u(cmd) + b"o.",
        "NEWOBJ subprocess.Popen": b"\x80\x02csubprocess\nPopen\n(" + _u(cmd) + b"\x85\x81.",
        "EXT1 (copyreg extension code)": b"\x80\x02\x82\x01" + _u(cmd) + b"\x85R.",
        "pickle.dumps(__reduce__ -> os.system), protocol 2": pickle.dumps(_Evil(cmd), protocol=2),
        "pickle.dumps(__reduce__ -> os.system), protocol 5": pickle.dumps(_Evil(cmd), protocol=5),
        "trojan tensor in a state_dict": b"\x80\x02" + od + b"(" + _u("fc.weight") + tensor + _u("fc.bias")
        + b"cos\nsystem\n" + _u(cmd) + b"\x85Ru.",
        "GLOBAL torch._utils.system (admitted module, other name)": b"\x80\x02ctorch._utils\nsystem\n" + _u(cmd)
        + b"\x85R.",
        "BUILD rewiring an admitted global": b"\x80\x02" + rebuild + b"N}" + _u("fn") + b"cos\nsystem\nst\x86b.",
        "BUILD changing a checked tensor's offset": b"\x80\x02" + od + b"(" + _u("w") + tensor
        + b"N}" + _u("offset") + b"J\x00\x00\x00\x10s\x86bu.",
        "REDUCE of a storage type": b"\x80\x02ctorch\nFloatStorage\n" + _u(cmd) + b"\x85R.",
    }


#: ``sys.audit`` events that mean code ran or a module was loaded while reading a file (see :func:`no_code_run`).
_WATCH_EXACT = {"import", "exec", "compile", "os.system", "subprocess.Popen", "pickle.find_class", "os.posix_spawn",
                "os.fork", "os.forkpty", "ctypes.dlopen", "socket.connect", "os.remove", "os.rename", "os.exec"}
_WATCH_PREFIX = ("os.exec", "os.spawn", "ctypes.", "socket.", "shutil.", "webbrowser.")
_AUDIT: dict = {"on": False, "events": []}


def _audit_hook(event: str, args) -> None:
    if _AUDIT["on"] and (event in _WATCH_EXACT or event.startswith(_WATCH_PREFIX)):
        _AUDIT["events"].append((event, repr(args)[:200]))


sys.addaudithook(_audit_hook)  # process-wide; inert unless a no_code_run() block is active


@contextlib.contextmanager
def no_code_run():
    """Record the audit events of :data:`_WATCH_EXACT` (imports, exec/compile, processes, pickle's own find_class)
    raised inside the block; the caller asserts the list is empty."""
    import encodings.cp437  # noqa: F401 - the codec zipfile decodes non-UTF-8 member names with: loaded before
    _AUDIT["events"] = []
    _AUDIT["on"] = True
    try:
        yield _AUDIT["events"]
    finally:
        _AUDIT["on"] = False
