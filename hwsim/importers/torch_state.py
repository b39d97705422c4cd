"""PyTorch ``.pt`` / ``.pth`` state_dicts, read without executing pickle code (torch is optional).

**With torch installed** the file is read by ``torch.load(path, weights_only=True, map_location="cpu")`` -- PyTorch's
own restricted unpickler -- and its tensors are copied to numpy. **Without torch** (the default install) the built-in
reader below reads the file itself. Both return the same ``{name: numpy array}``; :func:`read_torch_state` picks
(``engine="auto"``), and the tests run both against files written by real torch.

Format (``torch.save`` since PyTorch 1.6, "zipfile serialization"; older files are refused with a hint)
------------------------------------------------------------------------------------------------------
A zip archive (members stored, uncompressed) whose members all sit under one top folder ``NAME/``:

* ``NAME/data.pkl`` -- a pickle (protocol 2) of the saved object. A state_dict is an
  ``collections.OrderedDict`` of name -> tensor, each tensor the call
  ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[,
  metadata])`` (wrapped in ``_rebuild_parameter(...)`` for ``nn.Parameter`` s, ``state_dict(keep_vars=True)``),
  and each storage a *persistent id* ``("storage", torch.FloatStorage, KEY, "cpu", numel)``;
* ``NAME/data/KEY`` -- that storage's raw bytes, numel x item size, in the byte order of ``NAME/byteorder``
  (``little`` when absent); views (a slice, a transpose, tied weights) share a storage at an offset / stride;
* ``NAME/version``, ``NAME/.format_version``, ``NAME/.storage_alignment``, ``NAME/.data/serialization_id``:
  bookkeeping, not read.

A checkpoint dict ``{"state_dict": ..., "epoch": 3, "optimizer": ...}`` is accepted when exactly one of its keys
``state_dict`` / ``model_state_dict`` / ``model`` holds the tensors (the rest is parsed but never materialised).
Tensor dtypes: float64/32/16, bfloat16 (widened to float32), int64/32/16/8, uint8, bool. TorchScript archives
(``torch.jit.save``), whole pickled modules (``torch.save(model)``) and the pre-1.6 format are refused, each with
what to save instead.

Why the built-in reader cannot execute code
-------------------------------------------
Unpickling runs code only through the globals a pickle names (``GLOBAL`` / ``STACK_GLOBAL`` / ``INST`` / ``OBJ``
/ ``NEWOBJ`` / extension codes) and what ``REDUCE`` / ``BUILD`` then do with them. Here:

1. **Before any unpickling**, the pickle is scanned opcode by opcode with :func:`pickletools.genops` (a parser:
   it executes nothing): only the opcodes a state_dict pickle uses are admitted (no ``INST`` / ``OBJ`` /
   ``NEWOBJ`` / ``EXT*`` / out-of-band buffers / sets / ``LONG4``); every ``GLOBAL`` must be one of
   :data:`ALLOWED_GLOBALS`; every length prefix must fit inside the pickle and every memo index below its size, so
   the unpickler never allocates more than the pickle's own size; the stack is simulated so that no tuple can
   share items into an exponential size (a "bomb" that would hang hashing), see :class:`_Shape`.
2. The unpickler is a :class:`pickle.Unpickler` subclass whose ``find_class`` returns, for the same handful of
   names, **our own** inert objects -- never an import: ``OrderedDict`` becomes a plain dict, the rebuild functions
   return a *tensor reference* (storage key, offset, shape, stride; no data), storage classes a dtype marker,
   ``torch.Size`` / ``torch.device`` a tuple / a string. Any other name (``os.system``, ``builtins.eval``, a user's
   ``__main__.Net``) is a :class:`DataError` naming it. Every object find_class returns and every object those
   return refuses ``BUILD`` (``__setstate__`` raises, no ``__dict__``, ``__setattr__`` raises), so a pickle cannot
   rewire them; ``NEWOBJ`` needs a class and gets none.
3. ``persistent_load`` resolves a storage id to the zip member ``NAME/data/KEY`` only after checking the id's form,
   the dtype, and that the member's size in the zip directory is exactly numel x item size (under
   :data:`MAX_TENSOR_BYTES`). A tensor reference's view (offset + (size - 1) . stride) must lie inside its storage.
4. Only then are bytes read, once per storage, and each tensor copied out of its storage view; the tensors' total
   size may not exceed :data:`MAX_TOTAL_BYTES` nor :data:`VIEW_FACTOR` x the file's size (a view may repeat storage
   data, e.g. tied weights, but not blow a small file up), and a view larger than its storage (an expanded,
   stride-0 tensor) is refused.

The zip itself is read like a weights ``.npz`` (:func:`hwsim.weights_io.read_npz_arrays`): no encrypted members,
stored or deflated only, members tiling the archive (nothing hidden), member count and pickle size bounded.
Every problem is one :class:`DataError` naming the file; nothing else escapes.
"""
from __future__ import annotations

import importlib.util
import io
import pickle
import pickletools
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..errors import DataError

#: Largest ``data.pkl`` read (a state_dict's pickle is ~100 bytes per tensor).
MAX_PICKLE_BYTES = 64 * 2**20
#: Largest single storage or tensor.
MAX_TENSOR_BYTES = 8 * 2**30
#: Largest total of the tensors read.
MAX_TOTAL_BYTES = 8 * 2**30
#: The tensors read may total at most this many times the file's size (plus 1 MiB).
VIEW_FACTOR = 8
#: At most this many members in the archive.
MAX_MEMBERS = 1_000_000
#: At most this many dimensions per tensor.
MAX_DIMS = 32
_BIG = 2**62

#: Storage class names -> numpy dtype codes ("bf16": bfloat16, widened to float32 when read).
STORAGE_DTYPES = {"DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": "bf16",
                  "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
                  "ByteStorage": "u1", "BoolStorage": "b1", "UntypedStorage": "u1"}
_STORAGE_MODULES = ("torch", "torch.storage", "torch.cuda")
#: Keys of a checkpoint dict that may hold the state_dict.
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")

_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


class _Frozen:
    """Base of every object the restricted unpickler creates: no ``__dict__``, and ``BUILD`` / ``setattr`` refused,
    so a pickle cannot change an object after it was checked."""

    __slots__ = ()

    def __setattr__(self, key: str, value: Any) -> None:
        raise DataError(f"the pickle tries to set attribute {key!r} of {self!r} (refused)")

    def __delattr__(self, key: str) -> None:
        raise DataError(f"the pickle tries to delete attribute {key!r} of {self!r} (refused)")

    def __setstate__(self, state: Any) -> None:
        raise DataError(f"the pickle tries to set the state of {self!r} (BUILD; refused)")

    def _init(self, **kw: Any) -> None:
        for k, v in kw.items():
            object.__setattr__(self, k, v)


class _Global(_Frozen):
    """An admitted global: ``kind`` says what it is ("call", "storage", "type"), ``fn`` what calling it does."""

    __slots__ = ("qualname", "kind", "fn", "dtype")

    def __init__(self, qualname: str, kind: str, fn: Optional[Callable[..., Any]] = None, dtype: str = ""):
        self._init(qualname=qualname, kind=kind, fn=fn, dtype=dtype)

    def __call__(self, *args: Any) -> Any:
        if self.fn is None:
            raise DataError(f"the pickle calls {self.qualname}, which is not callable in a state_dict")
        return self.fn(*args)

    def __repr__(self) -> str:
        return f"<{self.qualname}>"


class _Storage(_Frozen):
    """A storage the pickle refers to: its member in the zip, dtype code and element count (no data)."""

    __slots__ = ("key", "dtype", "numel", "member")

    def __init__(self, key: str, dtype: str, numel: int, member: str):
        self._init(key=key, dtype=dtype, numel=numel, member=member)

    def __repr__(self) -> str:
        return f"<storage {self.key!r} {self.dtype} x {self.numel}>"


class _TensorRef(_Frozen):
    """A tensor: a view (offset, shape, stride in elements) of a storage; materialised after unpickling."""

    __slots__ = ("storage", "offset", "shape", "stride")

    def __init__(self, storage: _Storage, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]):
        self._init(storage=storage, offset=offset, shape=shape, stride=stride)

    def __repr__(self) -> str:
        return f"<tensor {self.shape} of {self.storage!r}>"


class _StateDict(dict):
    """``collections.OrderedDict`` as the restricted unpickler builds it: a dict whose ``BUILD`` state (PyTorch's
    ``_metadata``, module versions) is checked to be a dict and dropped."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        if state is not None and not isinstance(state, dict):
            raise DataError(f"the pickle sets a dict's state to a {type(state).__name__} (refused)")

    def __reduce__(self) -> Any:  # pragma: no cover - never pickled
        return (dict, (dict(self),))


# ---- the admitted globals -------------------------------------------------------------------------------------------
def _show(v: Any) -> str:
    """A short description of a value from the pickle, safe on hostile objects: never ``repr`` of a container (a
    pickle can share one list many times over, so that its repr grows exponentially)."""
    if v is None or isinstance(v, (bool, int, float)):
        text = repr(v) if not isinstance(v, int) or abs(v) < 10**30 else f"an integer of {v.bit_length()} bits"
    elif isinstance(v, (str, bytes)):
        text = repr(v[:60]) + ("..." if len(v) > 60 else "")
    elif isinstance(v, _Frozen):
        text = repr(v)
    else:
        size = len(v) if isinstance(v, (tuple, list, dict)) else None
        text = f"a {type(v).__name__}" + (f" of {size} items" if size is not None else "")
    return text[:100]


def _int(v: Any, what: str, lo: int = 0, hi: int = _BIG) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise DataError(f"{what} must be an integer in [{lo}, {hi}], got {_show(v)}")
    return v


def _ints(v: Any, what: str) -> tuple[int, ...]:
    if not isinstance(v, (tuple, list)) or len(v) > MAX_DIMS:
        raise DataError(f"{what} must be a tuple of at most {MAX_DIMS} integers, got {_show(v)}")
    return tuple(_int(x, what) for x in v)


def check_view(numel: int, offset: int, shape: tuple[int, ...], stride: tuple[int, ...], what: str) -> int:
    """The element count of a view (``offset``, ``shape``, ``stride``) of a storage of ``numel`` elements, after
    checking that every element it reads lies inside the storage and that it is no larger than the storage."""
    if len(shape) != len(stride):
        raise DataError(f"{what}: size {shape} and stride {stride} differ in length")
    count = 1
    for d in shape:
        count = min(count * d, _BIG)
    if count == 0:
        return 0
    last = offset + sum((d - 1) * s for d, s in zip(shape, stride))
    if last >= numel:
        raise DataError(f"{what}: a view of size {shape}, stride {stride} at offset {offset} reads element {last} "
                        f"of a storage of {numel}")
    if count > numel:
        raise DataError(f"{what}: a view of {count} elements of a storage of {numel} (an expanded, stride-0 tensor); "
                        "save t.contiguous() instead")
    return count


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                       backward_hooks: Any = None, metadata: Any = None, *extra: Any) -> _TensorRef:
    if extra:
        raise DataError(f"_rebuild_tensor_v2 called with {7 + len(extra)} arguments (at most 7)")
    if not isinstance(storage, _Storage):
        raise DataError(f"_rebuild_tensor_v2: the storage argument is a {type(storage).__name__}, not a storage")
    offset = _int(storage_offset, "storage offset")
    shape, strides = _ints(size, "tensor size"), _ints(stride, "tensor stride")
    if not isinstance(requires_grad, bool):
        raise DataError(f"_rebuild_tensor_v2: requires_grad must be a bool, got {_show(requires_grad)}")
    if backward_hooks is not None and not (isinstance(backward_hooks, dict) and not backward_hooks):
        raise DataError("_rebuild_tensor_v2: backward hooks must be empty")
    if metadata is not None and not isinstance(metadata, dict):
        raise DataError(f"_rebuild_tensor_v2: metadata must be a dict, got {type(metadata).__name__}")
    check_view(storage.numel, offset, shape, strides, f"tensor in storage {storage.key!r}")
    return _TensorRef(storage, offset, shape, strides)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None, *state: Any) -> _TensorRef:
    if not isinstance(data, _TensorRef) or len(state) > 1:
        raise DataError("_rebuild_parameter must wrap one tensor")
    return data


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any = None) -> Any:
    if not (isinstance(func, _Global) and func.kind == "call" and func.fn in (_rebuild_tensor_v2, _rebuild_parameter)):
        raise DataError(f"_rebuild_from_type_v2 may only call a tensor rebuild function, got {_show(func)}")
    if not (isinstance(new_type, _Global) and new_type.kind == "type") or not isinstance(args, tuple):
        raise DataError("_rebuild_from_type_v2 must rebuild a torch.Tensor or torch.nn.Parameter")
    return func(*args)


def _size(dims: Any = ()) -> tuple[int, ...]:
    return _ints(dims, "torch.Size")


def _device(kind: Any, index: Any = None) -> str:
    if not isinstance(kind, str) or len(kind) > 64 or (index is not None and not isinstance(index, int)):
        raise DataError(f"torch.device({_show(kind)}, {_show(index)}) is not a device")
    return kind if index is None else f"{kind}:{index}"


def _allowed() -> dict[tuple[str, str], _Global]:
    table = {("collections", "OrderedDict"): _Global("collections.OrderedDict", "call", _StateDict),
             ("torch._utils", "_rebuild_tensor_v2"): _Global("torch._utils._rebuild_tensor_v2", "call",
                                                             _rebuild_tensor_v2),
             ("torch._utils", "_rebuild_parameter"): _Global("torch._utils._rebuild_parameter", "call",
                                                             _rebuild_parameter),
             ("torch._utils", "_rebuild_parameter_with_state"): _Global(
                 "torch._utils._rebuild_parameter_with_state", "call", _rebuild_parameter),
             ("torch._tensor", "_rebuild_from_type_v2"): _Global("torch._tensor._rebuild_from_type_v2", "call",
                                                                 _rebuild_from_type_v2),
             ("torch", "Tensor"): _Global("torch.Tensor", "type"),
             ("torch.nn.parameter", "Parameter"): _Global("torch.nn.parameter.Parameter", "type"),
             ("torch", "Size"): _Global("torch.Size", "call", _size),
             ("torch", "device"): _Global("torch.device", "call", _device)}
    for mod in _STORAGE_MODULES:
        for name, code in STORAGE_DTYPES.items():
            table[(mod, name)] = _Global(f"{mod}.{name}", "storage", dtype=code)
    return table


#: (module, name) -> the inert object the restricted unpickler gives for it; every other global is refused.
ALLOWED_GLOBALS = _allowed()

#: Opcodes a state_dict pickle may use (see the module doc); anything else is refused before unpickling.
ALLOWED_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP", "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT",
    "BININT1", "BININT2", "LONG", "LONG1", "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE",
    "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "EMPTY_LIST",
    "APPEND", "APPENDS", "LIST", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_DICT", "DICT",
    "SETITEM", "SETITEMS", "GET", "BINGET", "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "GLOBAL",
    "STACK_GLOBAL", "REDUCE", "BUILD", "PERSID", "BINPERSID"})


def _refuse_global(module: str, name: str, where: str) -> DataError:
    hint = ""
    if module not in ("torch", "torch._utils", "collections", "torch._tensor", "torch.nn.parameter"):
        hint = (" (a pickled Python object, e.g. a whole module saved with torch.save(model): save "
                "model.state_dict() instead)")
    elif "Storage" in name or name.startswith("q"):
        hint = " (quantized and complex tensors are not supported)"
    return DataError(f"{where}: the pickle names the global {module}.{name}, which a state_dict does not need; "
                     f"refused, nothing imported or run{hint}. Admitted: "
                     + ", ".join(sorted({g.qualname.rsplit('.', 1)[0] + '.*Storage' if g.kind == 'storage'
                                         else g.qualname for g in ALLOWED_GLOBALS.values()})))


_PUSH_ONE = frozenset({"NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "FLOAT",
                       "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                       "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "EMPTY_LIST", "EMPTY_TUPLE",
                       "EMPTY_DICT", "GLOBAL", "PERSID"})
_MARK = -1


class _Shape:
    """The unpickler's stack and memo simulated with one number per object: its size counted as a tree (shared
    items once per reference). A tuple is immutable and hashing, comparing or printing it walks that tree, so a
    tuple over :data:`_Shape.limit` -- a pickle "bomb" that shares one item 2**40 times in a few hundred bytes -- is
    refused before the unpickler could hash it (a dict key) and hang."""

    def __init__(self, n: int, where: str):
        self.stack: list[int] = []
        self.memo: dict[int, int] = {}
        self.limit = 16 * n + 4096
        self.where = where

    def pop(self, k: int = 1) -> list[int]:
        if k > len(self.stack) or _MARK in self.stack[len(self.stack) - k:]:
            raise DataError(f"{self.where}: the pickle pops an empty stack (corrupt pickle)")
        out = self.stack[len(self.stack) - k:]
        del self.stack[len(self.stack) - k:]
        return out

    def to_mark(self) -> list[int]:
        if _MARK not in self.stack:
            raise DataError(f"{self.where}: the pickle pops to a missing MARK (corrupt pickle)")
        i = len(self.stack) - 1 - self.stack[::-1].index(_MARK)
        out = self.stack[i + 1:]
        del self.stack[i:]
        return out

    def tuple_(self, items: list[int]) -> None:
        w = 1 + sum(items)
        if w > self.limit:
            raise DataError(f"{self.where}: the pickle builds a tuple of {w} items counting shared ones (over "
                            f"{self.limit}): a pickle bomb, refused")
        self.stack.append(w)

    def step(self, name: str, arg: Any) -> None:
        st = self.stack
        if name in _PUSH_ONE:
            st.append(1)
        elif name == "MARK":
            st.append(_MARK)
        elif name == "TUPLE":
            self.tuple_(self.to_mark())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            self.tuple_(self.pop(int(name[-1])))
        elif name in ("LIST", "DICT"):
            self.to_mark()
            st.append(1)
        elif name in ("APPENDS", "SETITEMS", "POP_MARK"):
            self.to_mark()
            if name != "POP_MARK":
                self.pop(0 if st else 1)
        elif name in ("APPEND", "POP", "BUILD"):
            self.pop()
            if name != "POP":
                self.pop(0 if st else 1)
        elif name == "SETITEM":
            self.pop(2)
            self.pop(0 if st else 1)
        elif name == "DUP":
            st.append(self.pop()[0])
            st.append(st[-1])
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in self.memo:
                raise DataError(f"{self.where}: the pickle reads memo entry {arg}, never written (corrupt pickle)")
            st.append(self.memo[arg])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            if not st or st[-1] == _MARK:
                raise DataError(f"{self.where}: the pickle memoizes an empty stack (corrupt pickle)")
            self.memo[len(self.memo) if name == "MEMOIZE" else arg] = st[-1]
        elif name in ("STACK_GLOBAL", "REDUCE"):
            self.pop(2)
            st.append(1)
        elif name == "BINPERSID":
            self.pop()
            st.append(1)


def scan_pickle(data: bytes, where: str) -> None:
    """Check a pickle opcode by opcode without running it (see the module doc, step 1); DataError on anything a
    state_dict pickle does not use."""
    shape = _Shape(len(data), where)
    try:
        with warnings.catch_warnings():  # a damaged STRING opcode's escapes warn in pickletools: the error says it
            warnings.simplefilter("ignore")
            _scan(data, where, shape)
    except DataError:
        raise
    except Exception as exc:  # ValueError (truncated, bad opcode), UnicodeDecodeError, ...
        raise DataError(f"{where}: corrupt pickle ({type(exc).__name__}: {exc})") from None


def _scan(data: bytes, where: str, shape: "_Shape") -> None:
    n = len(data)
    stop = None
    for op, arg, pos in pickletools.genops(data):
        name = op.name
        if name not in ALLOWED_OPCODES:
            raise DataError(f"{where}: the pickle uses opcode {name} at byte {pos}, which a state_dict does not "
                            "need (refused before unpickling)")
        if name == "PROTO" and not 2 <= arg <= 5:
            raise DataError(f"{where}: pickle protocol {arg} (torch.save writes 2)")
        if name == "GLOBAL":
            module, _, gname = str(arg).partition(" ")
            if (module, gname) not in ALLOWED_GLOBALS:
                raise _refuse_global(module, gname, where)
        if name in ("GET", "BINGET", "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT") and not (
                isinstance(arg, int) and 0 <= arg <= n):
            raise DataError(f"{where}: memo index {arg!r:.40} at byte {pos} out of range")
        if name == "FRAME" and not 0 <= arg <= n - pos:
            raise DataError(f"{where}: frame of {arg} bytes at byte {pos} runs past the pickle")
        if name == "STOP":
            stop = pos
        else:
            shape.step(name, arg)
    if stop is None or stop != n - 1:
        raise DataError(f"{where}: the pickle does not end with its STOP opcode ({n} bytes)")


class _Unpickler(pickle.Unpickler):
    """The restricted unpickler (see the module doc, steps 2 and 3)."""

    def __init__(self, data: bytes, where: str, prefix: str, members: dict[str, zipfile.ZipInfo]):
        super().__init__(io.BytesIO(data))
        self.where, self.prefix, self.members = where, prefix, members
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        g = ALLOWED_GLOBALS.get((module, name)) if isinstance(module, str) and isinstance(name, str) else None
        if g is None:
            raise _refuse_global(str(module)[:80], str(name)[:80], self.where)
        return g

    def persistent_load(self, pid: Any) -> _Storage:
        where = self.where
        if not (isinstance(pid, tuple) and len(pid) == 5):
            raise DataError(f"{where}: persistent id {_show(pid)} is not a storage ('storage', type, key, location, "
                            "numel)")
        kind, stype, key, location, numel = pid
        if isinstance(kind, bytes):
            kind = kind.decode("ascii", "replace")
        if isinstance(key, bytes):
            key = key.decode("ascii", "replace")
        if kind != "storage":
            raise DataError(f"{where}: persistent id of kind {_show(kind)}; only 'storage' is read")
        if not (isinstance(stype, _Global) and stype.kind == "storage"):
            raise DataError(f"{where}: persistent id names {_show(stype)}, not a storage type")
        if not isinstance(key, str) or not 0 < len(key) <= 256 or not isinstance(location, (str, bytes)):
            raise DataError(f"{where}: storage key {_show(key)} / location {_show(location)} malformed")
        numel = _int(numel, f"{where}: element count of storage {key!r}")
        code = stype.dtype
        nbytes = numel * _itemsize(code)
        member = f"{self.prefix}data/{key}"
        if key in self.storages:
            old = self.storages[key]
            if (old.dtype, old.numel) != (code, numel):
                raise DataError(f"{where}: storage {key!r} is named as {old.dtype} x {old.numel} and as {code} x "
                                f"{numel}")
            return old
        if nbytes > MAX_TENSOR_BYTES:
            raise DataError(f"{where}: storage {key!r} claims {numel} elements ({nbytes} bytes), over the "
                            f"{MAX_TENSOR_BYTES}-byte limit")
        info = self.members.get(member)
        if info is None:
            raise DataError(f"{where}: storage {key!r} has no member {member!r} in the archive")
        if info.file_size != nbytes:
            raise DataError(f"{where}: storage {key!r} claims {numel} x {code} ({nbytes} bytes) but its member holds "
                            f"{info.file_size} bytes")
        st = _Storage(key, code, numel, member)
        self.storages[key] = st
        return st


def _itemsize(code: str) -> int:
    return 2 if code == "bf16" else np.dtype(code).itemsize


# ---- reading --------------------------------------------------------------------------------------------------------
def read_torch_state(path: str | Path, engine: str = "auto") -> dict[str, np.ndarray]:
    """name -> array of a PyTorch state_dict file, in file order (see the module doc). ``engine``: ``"auto"``
    (torch when importable, else the built-in reader), ``"torch"`` or ``"builtin"``. bfloat16 is widened to float32;
    arrays are native-endian copies. Every problem is one :class:`DataError`."""
    p = Path(path)
    where = f"PyTorch file {str(p)!r}"
    if engine not in ("auto", "torch", "builtin"):
        raise ValueError(f"engine must be 'auto', 'torch' or 'builtin', got {engine!r}")
    if not p.is_file():
        raise DataError(f"{where} does not exist")
    with open(p, "rb") as f:
        head = f.read(len(_LEGACY_MAGIC))
    if head == _LEGACY_MAGIC:
        raise DataError(f"{where} uses PyTorch's legacy (pre-1.6) serialization, which only a full unpickler reads; "
                        "re-save it with torch >= 1.6: torch.save(torch.load(path), path)")
    if not head.startswith(b"PK"):
        raise DataError(f"{where} is not a PyTorch state_dict (torch.save writes a zip archive; this file starts "
                        f"with {head[:8]!r})")
    if engine == "torch" or (engine == "auto" and _torch_importable()):
        return _read_with_torch(p, where)
    return _read_builtin(p, where)


def _torch_importable() -> bool:
    """Whether ``import torch`` works here (an installed but broken torch falls back to the built-in reader)."""
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch  # noqa: F401
    except Exception:  # ImportError, OSError (a missing shared library), ...
        return False
    return True


def _read_with_torch(p: Path, where: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise DataError(f"{where}: engine 'torch' needs PyTorch, which is not installed") from None
    zf, _, _ = _open_archive(p, where)  # the same archive checks as the built-in reader (TorchScript, layout)
    zf.close()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(p), weights_only=True, map_location="cpu")
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, zip errors, ...: all one problem
        msg = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
        raise DataError(f"{where}: torch.load(weights_only=True) refused it: {msg[0][:300] if msg else type(exc)}") \
            from None
    state = select_state(obj, where, lambda v: isinstance(v, torch.Tensor))
    out = {}
    for k, t in state.items():
        t = t.detach().cpu()
        if t.is_quantized or t.is_complex() or t.layout != torch.strided:
            raise DataError(f"{where}: tensor {k!r} is {'quantized' if t.is_quantized else t.dtype} / {t.layout}; "
                            "only dense real tensors are read")
        if t.dtype == torch.bfloat16:
            t = t.float()
        try:
            out[k] = np.array(t.contiguous().numpy(), copy=True)
        except (TypeError, RuntimeError) as exc:
            raise DataError(f"{where}: tensor {k!r} of dtype {t.dtype} cannot be read: {exc}") from None
    return out


def select_state(obj: Any, where: str, is_tensor: Callable[[Any], bool]) -> dict[str, Any]:
    """The state_dict inside what a ``.pt`` file holds: the object itself when it maps names to tensors, else the
    one :data:`CHECKPOINT_KEYS` entry that does; DataError listing what is there otherwise."""

    def tensor_dict(d: Any) -> bool:
        return isinstance(d, dict) and len(d) > 0 and all(isinstance(k, str) for k in d) and all(
            is_tensor(v) for v in d.values())

    if tensor_dict(obj):
        return dict(obj)
    if isinstance(obj, dict):
        keys = [k for k in obj if isinstance(k, str)]
        found = [k for k in CHECKPOINT_KEYS if k in obj and tensor_dict(obj[k])]
        if len(found) == 1:
            return dict(obj[found[0]])
        shown = ", ".join(repr(k) for k in keys[:12]) + (" ..." if len(keys) > 12 else "")
        if len(found) > 1:
            raise DataError(f"{where}: a checkpoint with several state_dicts ({', '.join(found)}); save the one to "
                            "use on its own: torch.save(ckpt['state_dict'], path)")
        other = [k for k, v in obj.items() if not is_tensor(v)] if all(isinstance(k, str) for k in obj) else []
        if obj and 0 < len(other) < len(obj):
            raise DataError(f"{where}: entries that are not tensors: {', '.join(map(repr, other[:12]))}"
                            f"{' ...' if len(other) > 12 else ''} (a state_dict maps names to tensors)")
        raise DataError(f"{where}: a dict with keys {shown or '(none)'} holds no state_dict (names -> tensors; a "
                        f"checkpoint may hold one under {' / '.join(CHECKPOINT_KEYS)})")
    raise DataError(f"{where}: holds a {type(obj).__name__}, not a state_dict (save model.state_dict())")


def _open_archive(p: Path, where: str) -> tuple[zipfile.ZipFile, str, dict[str, zipfile.ZipInfo]]:
    from ..weights_io import _METHODS, _check_layout

    try:
        zf = zipfile.ZipFile(p)
    except Exception as exc:  # BadZipFile, OSError, ValueError, struct.error, ...
        raise DataError(f"{where} is not a valid PyTorch zip archive: {exc}") from None
    try:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DataError(f"{where} holds {len(infos)} members, over the limit of {MAX_MEMBERS}")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.flag_bits & 0x1:
                raise DataError(f"{where}: member {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise DataError(f"{where}: member {info.filename!r} uses compression method {info.compress_type} "
                                f"({_METHODS.get(info.compress_type, 'unknown')}); torch.save stores members")
            if info.filename in members:
                raise DataError(f"{where}: member {info.filename!r} appears twice")
            members[info.filename] = info
        try:
            _check_layout(zf, infos, where)
        except DataError:
            raise
        except (OSError, ValueError, OverflowError) as exc:
            raise DataError(f"{where}: damaged archive directory: {exc}") from None
        pickles = [n for n in members if n.endswith("/data.pkl") and n.count("/") == 1]
        if any(n.endswith("/constants.pkl") and n.count("/") == 1 for n in members):
            raise DataError(f"{where} is a TorchScript archive (torch.jit.save), not a state_dict; save "
                            "model.state_dict() with torch.save, or export ONNX")
        if len(pickles) != 1:
            raise DataError(f"{where}: expected one NAME/data.pkl member, found {len(pickles)} (not a torch.save "
                            "archive)")
        prefix = pickles[0][:-len("data.pkl")]
        stray = [n for n in members if not n.startswith(prefix)]
        if stray:
            raise DataError(f"{where}: member {stray[0]!r} lies outside the archive's folder {prefix!r}")
        return zf, prefix, members
    except BaseException:
        zf.close()
        raise


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> bytes:
    if info.file_size > limit:
        raise DataError(f"{where}: member {info.filename!r} is {info.file_size} bytes, over the {limit}-byte limit")
    try:
        with zf.open(info) as f:
            data = f.read(info.file_size)
            if len(data) != info.file_size or f.read(1):  # reading to the end checks the CRC
                raise DataError(f"{where}: member {info.filename!r} is truncated ({len(data)} of {info.file_size} "
                                "bytes)")
    except DataError:
        raise
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError, ...
        raise DataError(f"{where}: member {info.filename!r} is corrupt: {exc}") from None
    return data


def _read_builtin(p: Path, where: str) -> dict[str, np.ndarray]:
    zf, prefix, members = _open_archive(p, where)
    with zf:
        order = "<"
        bo = members.get(prefix + "byteorder")
        if bo is not None:
            text = _read_member(zf, bo, 16, where).strip()
            if text not in (b"little", b"big"):
                raise DataError(f"{where}: byteorder member holds {text!r:.40}, not 'little' or 'big'")
            order = "<" if text == b"little" else ">"
        data = _read_member(zf, members[prefix + "data.pkl"], MAX_PICKLE_BYTES, where)
        scan_pickle(data, where)
        unpickler = _Unpickler(data, where, prefix, members)
        try:
            obj = unpickler.load()
        except DataError:
            raise
        except RecursionError:
            raise DataError(f"{where}: the pickle is nested too deeply") from None
        except Exception as exc:  # UnpicklingError, TypeError (REDUCE of a non-callable), EOFError, ...
            raise DataError(f"{where}: corrupt pickle ({type(exc).__name__}: {str(exc)[:200]})") from None
        state = select_state(obj, where, lambda v: isinstance(v, _TensorRef))
        sizes = {k: check_view(t.storage.numel, t.offset, t.shape, t.stride, f"{where}: tensor {k!r}")
                 * _itemsize(t.storage.dtype) for k, t in state.items()}
        total = sum(sizes.values())
        budget = min(MAX_TOTAL_BYTES, VIEW_FACTOR * p.stat().st_size + 2**20)
        if total > budget:
            raise DataError(f"{where}: its tensors total {total} bytes, over {budget} (the limit is "
                            f"{VIEW_FACTOR} x the file's size + 1 MiB, and {MAX_TOTAL_BYTES})")
        buffers: dict[str, np.ndarray] = {}
        out: dict[str, np.ndarray] = {}
        for k, t in state.items():
            st = t.storage
            if st.key not in buffers:
                raw = _read_member(zf, members[st.member], MAX_TENSOR_BYTES, where)
                dt = np.dtype("u2" if st.dtype == "bf16" else st.dtype).newbyteorder(order)
                buffers[st.key] = np.frombuffer(raw, dtype=dt)
            out[k] = _materialise(buffers[st.key], t, f"{where}: tensor {k!r}")
    return out


def _materialise(buf: np.ndarray, t: _TensorRef, what: str) -> np.ndarray:
    """A native-endian copy of tensor ``t`` read from its storage ``buf`` (bounds checked again here)."""
    count = check_view(len(buf), t.offset, t.shape, t.stride, what)
    native = buf.dtype.newbyteorder("=")
    if count == 0:
        arr = np.zeros(t.shape, dtype=native)
    else:
        view = np.lib.stride_tricks.as_strided(buf[t.offset:], shape=t.shape,
                                               strides=tuple(s * buf.itemsize for s in t.stride), writeable=False)
        arr = view.astype(native, copy=True)
    if t.storage.dtype == "bf16":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def is_torch_file(path: str | Path | None) -> bool:
    """Whether ``path`` names a PyTorch file by its suffix (``.pt``, ``.pth``)."""
    return path is not None and Path(path).suffix.lower() in (".pt", ".pth")


# ---- writing (no torch needed) ----------------------------------------------------------------------------------------
_STORAGE_OF = {"float64": "DoubleStorage", "float32": "FloatStorage", "float16": "HalfStorage", "int64": "LongStorage",
               "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
               "bool": "BoolStorage"}


def _op_int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + v.to_bytes(4, "little", signed=True)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def _op_str(s: str) -> bytes:
    b = s.encode("utf-8")
    return b"X" + len(b).to_bytes(4, "little") + b


def _op_tuple(vals: tuple[int, ...]) -> bytes:
    return b"(" + b"".join(_op_int(v) for v in vals) + b"t"


def state_pickle(arrays: dict[str, np.ndarray]) -> tuple[bytes, list[bytes]]:
    """The ``data.pkl`` bytes torch.save writes for a state_dict of contiguous tensors, and each storage's bytes
    (little-endian); the opcodes are the ones :func:`scan_pickle` admits."""
    od = b"ccollections\nOrderedDict\n)R"
    out = [b"\x80\x02", od, b"("]
    blobs = []
    for i, (name, a) in enumerate(arrays.items()):
        a = np.asarray(a)
        if a.dtype.name not in _STORAGE_OF:
            raise DataError(f"tensor {name!r}: dtype {a.dtype} has no PyTorch storage type here; supported: "
                            + ", ".join(_STORAGE_OF))
        a = np.array(a, order="C", copy=True)  # (ascontiguousarray would make a 0-d array 1-d)
        blobs.append(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
        stride = tuple(int(s // a.itemsize) for s in a.strides) if a.size else (1,) * a.ndim
        out += [_op_str(name), b"ctorch._utils\n_rebuild_tensor_v2\n(", b"(", _op_str("storage"),
                f"ctorch\n{_STORAGE_OF[a.dtype.name]}\n".encode(), _op_str(str(i)), _op_str("cpu"), _op_int(a.size),
                b"tQ", _op_int(0), _op_tuple(a.shape), _op_tuple(stride), b"\x89", od, b"tR"]
    out.append(b"u.")
    return b"".join(out), blobs


def save_torch_state(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` (name -> numpy array) as a PyTorch state_dict file, without torch: the archive
    ``torch.save(state_dict, path)`` writes (members stored, folder ``archive/``), which ``torch.load(path,
    weights_only=True)`` and :func:`read_torch_state` read back bit for bit. Written atomically."""
    from ..atomic_io import atomic_open

    pkl, blobs = state_pickle(arrays)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/.format_version", "1")
        z.writestr("archive/.storage_alignment", "64")
        z.writestr("archive/byteorder", "little")
        for i, b in enumerate(blobs):
            z.writestr(f"archive/data/{i}", b)
        z.writestr("archive/version", "3\n")
    p = Path(path)
    with atomic_open(p) as f:
        f.write(buf.getvalue())
    return p
