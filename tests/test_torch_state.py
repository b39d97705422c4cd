"""PyTorch .pt state_dicts (issue 12): the built-in reader (always) and torch.load(weights_only=True) (when torch is
installed) on files written by real torch 2.13 (tests/data, made by tests/data/make_torch_fixtures.py); refusals;
hand-made malicious pickles (no code runs); the restricted unpickler on its own; the writer; and the im2col order
against PyTorch's conv2d."""
import importlib.util
import pickle
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402

from hwsim.errors import DataError  # noqa: E402
from hwsim.importers import read_state, read_torch_state, save_torch_state  # noqa: E402
from hwsim.importers import torch_state as ts  # noqa: E402

DATA = Path(__file__).parent / "data"
HAS_TORCH = importlib.util.find_spec("torch") is not None
ENGINES = ["builtin", pytest.param("torch", marks=pytest.mark.skipif(not HAS_TORCH, reason="torch not installed"))]
VARIANTS = ["tiny_cnn", "torch_parameters", "torch_bfloat16", "torch_half", "torch_checkpoint", "torch_views"]


@pytest.mark.parametrize("engine", ENGINES)
def test_views_shared_storage_strides_and_dtypes(engine):
    d = read_torch_state(DATA / "torch_views.pt", engine=engine)
    w = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    assert list(d) == ["w", "row", "t", "tied", "empty", "scalar", "flags", "i8"]
    for k, want in (("w", w), ("row", w[1]), ("t", w.T), ("tied", w), ("empty", np.zeros((0, 2), np.float32)),
                    ("scalar", np.float32(2.5)), ("flags", np.array([True, False])),
                    ("i8", np.array([-3, 4], np.int8))):
        assert d[k].dtype == np.asarray(want).dtype and d[k].shape == np.shape(want) and np.array_equal(d[k], want), k
        assert d[k].flags.writeable and d[k].base is None or d[k].base is not None  # an owned copy
    d["w"][0, 0] = 99.0
    assert d["tied"][0, 0] == 0.0  # tied tensors are read as separate copies


@pytest.mark.parametrize("engine", ENGINES)
def test_parameters_half_bfloat16_and_checkpoints(engine):
    p = read_torch_state(DATA / "torch_parameters.pt", engine=engine)  # state_dict(keep_vars=True): nn.Parameter
    assert list(p) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                       "1.num_batches_tracked"]
    assert p["0.weight"].shape == (2, 3) and p["1.num_batches_tracked"].dtype == np.int64
    h = read_torch_state(DATA / "torch_half.pt", engine=engine)
    b = read_torch_state(DATA / "torch_bfloat16.pt", engine=engine)
    assert h["0.weight"].dtype == np.float16 and b["0.weight"].dtype == np.float32  # bfloat16 widened
    for k in h:
        np.testing.assert_allclose(h[k], p[k], rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(b[k], p[k], rtol=1e-2, atol=1e-2)
        # bfloat16 is float32's upper half: exactly representable after widening
        assert np.array_equal(b[k].view(np.uint32) & 0xFFFF, np.zeros_like(b[k], dtype=np.uint32))
    c = read_torch_state(DATA / "torch_checkpoint.pt", engine=engine)  # {"epoch", "state_dict", "optimizer"}
    assert list(c) == list(p) and int(c["1.num_batches_tracked"]) == 1


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("name", VARIANTS)
def test_builtin_reader_equals_torch_load(name):
    a = read_torch_state(DATA / f"{name}.pt", engine="builtin")
    b = read_torch_state(DATA / f"{name}.pt", engine="torch")
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name, message", [
    ("torch_module", r"names the global torch\.nn\.modules\.container\.Sequential|Weights only load failed"),
    ("torch_script", "TorchScript archive"),
    ("torch_legacy", r"legacy \(pre-1\.6\) serialization"),
])
def test_whole_modules_torchscript_and_legacy_files_are_refused(engine, name, message):
    with pytest.raises(DataError, match=message):
        read_torch_state(DATA / f"{name}.pt", engine=engine)


def test_tiny_cnn_spec_with_the_pt_state_gives_torchs_logits():
    from hwsim.importers import load_layer_spec

    io_ = np.load(DATA / "tiny_cnn_io.npz")
    x = io_["pixels"].astype(np.float32) / np.float32(255)
    net = load_layer_spec(DATA / "tiny_cnn.toml", state=DATA / "tiny_cnn.pt")
    assert np.abs(net.forward(x) - io_["logits"]).max() <= 1e-5


def test_im2col_order_equals_pytorch_conv2d():
    """One weight layout, documented in hwsim.nn.im2col: W.reshape(C_out, -1), columns (c, kh, kw), block-diagonal
    per group. The zoo's Conv2d (square kernel, stride, padding) and GraphConv (rectangular kernel, asymmetric
    stride, dilation, groups) both reproduce torch.nn.functional.conv2d (fixture from real torch)."""
    from hwsim.nn import Conv2d
    from hwsim.nn.graph import GraphConv, conv_matrix

    r = np.load(DATA / "conv_reference.npz")
    x = r["x"].astype(np.float64)
    zoo = Conv2d(3, 4, 3, stride=2, padding=1)
    zoo.astype(np.float64)
    zoo.set_weight(conv_matrix(zoo, r["w1"]), r["b1"])
    assert np.array_equal(zoo.weight, r["w1"].reshape(4, -1).astype(np.float64))
    assert np.abs(zoo.forward(x) - r["y1"]).max() < 1e-5
    g = GraphConv(3, 6, (2, 3), stride=(1, 2), pads=(1, 0, 1, 0), dilation=(2, 1), groups=3)
    g.astype(np.float64)
    g.set_weight(conv_matrix(g, r["w2"]), r["b2"])
    assert np.abs(g.forward(x) - r["y2"]).max() < 1e-5
    # group i's rows sit over its own columns only
    assert np.array_equal(g.weight != 0, g.group_mask() & (g.weight != 0)) and g.group_mask().sum() == 6 * 1 * 2 * 3


# ---- malicious files: nothing runs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("recipe", sorted(hostile.malicious_pickles(Path("m"))))
def test_malicious_pickles_are_refused_and_run_nothing(tmp_path, engine, recipe):
    marker = tmp_path / "pwned"
    data = hostile.malicious_pickles(marker)[recipe]
    p = tmp_path / "evil.pt"
    p.write_bytes(hostile.pt_archive(data, {"0": np.zeros(4, np.float32).tobytes()}))
    read_torch_state(DATA / "tiny_cnn.pt", engine=engine)  # warm: lazy imports done before the audit window
    with hostile.no_code_run() as events:
        with pytest.raises(DataError):
            read_torch_state(p, engine=engine)
    assert not marker.exists()
    if engine == "builtin":
        assert events == []  # no import, exec, compile, process, nor pickle's own find_class


@pytest.mark.parametrize("recipe", sorted(hostile.malicious_pickles(Path("m"))))
def test_the_restricted_unpickler_alone_refuses_them(tmp_path, recipe):
    """Defence in depth: the unpickler refuses what the opcode scan would have stopped first."""
    marker = tmp_path / "pwned"
    data = hostile.malicious_pickles(marker)[recipe]
    info = zipfile.ZipInfo("archive/data/0")
    info.file_size = 16
    u = ts._Unpickler(data, "test", "archive/", {"archive/data/0": info})
    with hostile.no_code_run() as events:
        with pytest.raises((DataError, pickle.UnpicklingError, TypeError, ValueError, AttributeError, KeyError,
                            EOFError)):
            u.load()
    assert not marker.exists() and events == []


def test_scan_refuses_opcodes_and_globals_before_unpickling():
    with pytest.raises(DataError, match="opcode INST"):
        ts.scan_pickle(b"(S'x'\nios\nsystem\n.", "t")
    with pytest.raises(DataError, match="global os.system"):
        ts.scan_pickle(b"\x80\x02cos\nsystem\n)R.", "t")
    with pytest.raises(DataError, match="memo index"):
        ts.scan_pickle(b"\x80\x02N" + b"r" + (2**31).to_bytes(4, "little") + b".", "t")
    with pytest.raises(DataError, match="corrupt pickle"):  # a 4 GiB BINBYTES in a 20-byte pickle: never allocated
        ts.scan_pickle(b"\x80\x03B" + (2**32 - 1).to_bytes(4, "little") + b"abc.", "t")
    with pytest.raises(DataError, match="does not end with its STOP"):
        ts.scan_pickle(b"\x80\x02N.trailing", "t")


def _tensor_pickle(numel: int, offset: int, size: tuple, stride: tuple, key: str = "0", stype: str = "FloatStorage"):
    def tup(v):
        return b"(" + b"".join(b"J" + int(i).to_bytes(4, "little", signed=True) for i in v) + b"t"
    od = b"ccollections\nOrderedDict\n)R"
    return (b"\x80\x02" + od + b"(" + hostile._u("w") + b"ctorch._utils\n_rebuild_tensor_v2\n((" + hostile._u("storage")
            + f"ctorch\n{stype}\n".encode() + hostile._u(key) + hostile._u("cpu") + b"J"
            + numel.to_bytes(4, "little", signed=True) + b"tQJ" + offset.to_bytes(4, "little", signed=True)
            + tup(size) + tup(stride) + b"\x89" + od + b"tRu.")


@pytest.mark.parametrize("numel, offset, size, stride, storage_bytes, message", [
    (4, 0, (2, 2), (2, 1), 16, None),                          # valid
    (4, 0, (2, 2), (2, 1), 12, "holds 12 bytes"),              # member smaller than numel x 4
    (2**30, 0, (4,), (1,), 16, "holds 16 bytes"),              # a huge claim: refused before reading anything
    (4, 1, (2, 2), (2, 1), 16, "reads element 4"),             # view past the storage
    (4, 0, (3, 3), (1, 1), 16, "reads element 4"),
    (4, 0, (100,), (0,), 16, "expanded, stride-0"),            # a 1-element storage blown up
    (4, -1, (2,), (1,), 16, "storage offset must be"),
    (4, 0, (-2,), (1,), 16, "tensor size must be"),
])
def test_storage_and_view_bounds_are_checked_before_reading(tmp_path, numel, offset, size, stride, storage_bytes,
                                                            message):
    p = tmp_path / "w.pt"
    p.write_bytes(hostile.pt_archive(_tensor_pickle(numel, offset, size, stride), {"0": bytes(storage_bytes)}))
    if message is None:
        assert read_torch_state(p, engine="builtin")["w"].shape == size
    else:
        with pytest.raises(DataError, match=message):
            read_torch_state(p, engine="builtin")


@pytest.mark.parametrize("change, message", [
    (lambda d: hostile.pt_archive(d, {}), "has no member 'archive/data/0'"),
    (lambda d: hostile.pt_archive(d, {"0": bytes(16)}, byteorder=b"middle"), "not 'little' or 'big'"),
    (lambda d: hostile.pt_archive(d, {"0": bytes(16)}, extra={"other/x": b""}), "outside the archive's folder"),
    (lambda d: hostile.pt_archive(d, {"0": bytes(16)}, extra={"archive/constants.pkl": b""}), "TorchScript"),
    (lambda d: hostile.pt_archive(d, {"0": bytes(16)}, extra={"b/data.pkl": b""}), "one NAME/data.pkl"),
    (lambda d: b"not a zip at all", "not a PyTorch state_dict"),
    (lambda d: hostile.pt_archive(d, {"0": bytes(16)})[:-30], "not a valid PyTorch zip archive"),
])
def test_archive_problems_are_one_data_error(tmp_path, change, message):
    p = tmp_path / "w.pt"
    p.write_bytes(change(_tensor_pickle(4, 0, (2, 2), (2, 1))))
    with pytest.raises(DataError, match=message):
        read_torch_state(p, engine="builtin")


def test_big_endian_files_and_non_state_contents(tmp_path):
    p = tmp_path / "be.pt"
    vals = np.array([1.5, -2.0, 3.25, 0.0], ">f4")
    p.write_bytes(hostile.pt_archive(_tensor_pickle(4, 0, (2, 2), (2, 1)), {"0": vals.tobytes()}, byteorder=b"big"))
    got = read_torch_state(p, engine="builtin")["w"]
    assert got.dtype == np.float32 and got.dtype.isnative and np.array_equal(got, vals.reshape(2, 2))
    for obj, message in ((b"\x80\x02]K\x01a.", "holds a list"), (b"\x80\x02}.", r"keys \(none\)"),
                         (b"\x80\x02}X\x01\x00\x00\x00aK\x01s.", "entries that are not tensors: 'a'|keys 'a'")):
        p.write_bytes(hostile.pt_archive(obj))
        with pytest.raises(DataError, match=message):
            read_torch_state(p, engine="builtin")


# ---- the writer, and state files of every format --------------------------------------------------------------------
def test_writer_round_trip_and_torch_reads_it(tmp_path):
    rng = np.random.default_rng(0)
    d = {"conv1.weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "n": np.array(7, np.int64),
         "flags": np.array([True, False]), "half": np.arange(3, dtype=np.float16), "f64": rng.standard_normal((3, 2)),
         "fortran": np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)), "empty": np.zeros((0, 5)),
         "big": np.array([2**40, -2**40], np.int64)}
    p = save_torch_state(tmp_path / "w.pt", d)
    for engine in ["builtin"] + (["torch"] if HAS_TORCH else []):
        got = read_torch_state(p, engine=engine)
        assert list(got) == list(d)
        for k in d:
            assert got[k].dtype == d[k].dtype and got[k].shape == d[k].shape and np.array_equal(got[k], d[k]), k
    if HAS_TORCH:
        import torch

        t = torch.load(p, weights_only=True)
        assert all(np.array_equal(t[k].numpy(), d[k]) for k in d)
    with pytest.raises(DataError, match="no PyTorch storage type"):
        save_torch_state(tmp_path / "c.pt", {"c": np.ones(2, np.complex64)})


def test_read_state_dispatches_on_the_suffix(tmp_path):
    d = read_state(DATA / "tiny_cnn.pt")
    np.savez(tmp_path / "s.npz", **d)
    assert all(np.array_equal(read_state(tmp_path / "s.npz")[k], d[k]) for k in d)
    with pytest.raises(DataError, match="unknown type '.bin'"):
        read_state(tmp_path / "s.bin")
    with pytest.raises(DataError, match="does not exist"):
        read_state(tmp_path / "missing.pt")


# ---- byte mutations: only hwsim errors, quickly, nothing run -------------------------------------------------------
def _mutation_cases(count: int, seed: int):
    """(name, bytes): mutated whole archives of two seed files (torch's own and hwsim's writer), and archives whose
    data.pkl alone is mutated under a correct CRC (so the pickle parser, not the zip checksum, meets the damage)."""
    import onnx_models as M  # the shared mutator (tests/onnx_models.py)

    torch_file = (DATA / "tiny_cnn.pt").read_bytes()
    pkl_w, blobs = ts.state_pickle({"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
                                    "a.bias": np.ones(2, np.float32)})
    writer = hostile.pt_archive(pkl_w, {str(i): b for i, b in enumerate(blobs)})
    z = zipfile.ZipFile(DATA / "tiny_cnn.pt")
    prefix = z.namelist()[0].split("/")[0]
    pkl = z.read(f"{prefix}/data.pkl")
    storages = {n.split("/")[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
    n = count // 3
    for i, b in enumerate(M.mutated(torch_file, n, 4, seed=seed, truncate=0.1)):
        yield f"torch archive {i}", b
    for i, b in enumerate(M.mutated(writer, n, 4, seed=seed + 1, truncate=0.1)):
        yield f"writer archive {i}", b
    for i, b in enumerate(M.mutated(pkl, count - 2 * n, 3, seed=seed + 2, truncate=0.1)):
        yield f"pickle {i}", hostile.pt_archive(b, storages)


def _fuzz(tmp_path, count: int, seed: int) -> None:
    p = tmp_path / "m.pt"
    read_torch_state(DATA / "tiny_cnn.pt", engine="builtin")
    worst, outcomes = 0.0, {"DataError": 0, "read": 0}
    for name, b in _mutation_cases(count, seed):
        p.write_bytes(b)
        t0 = time.perf_counter()
        with hostile.no_code_run() as events:
            try:
                out = read_torch_state(p, engine="builtin")
                assert all(isinstance(v, np.ndarray) for v in out.values())
                outcomes["read"] += 1
            except DataError:
                outcomes["DataError"] += 1
        worst = max(worst, time.perf_counter() - t0)
        assert events == [], (name, events)
        hostile.CASES["pt mutations"] += 1
    assert worst < 5.0, f"slowest case took {worst:.2f} s"
    assert outcomes["DataError"] > count // 2


def test_pt_mutations_give_only_data_errors(tmp_path):
    _fuzz(tmp_path, 300, seed=0)


@pytest.mark.slow
def test_pt_mutations_long(tmp_path):
    _fuzz(tmp_path, 4500, seed=10)


def _bomb(levels: int, container: bytes) -> bytes:
    """Opcodes pushing one object that shares an item 2**levels times in a few hundred bytes: nested pairs built
    with TUPLE2 (``container`` b"tuple") or LIST (b"list") from memo entries 0..levels."""
    out = b")q\x000" if container == b"tuple" else b"]q\x000"
    for i in range(levels):
        pair = b"h" + bytes([i]) + b"h" + bytes([i])
        out += (pair + b"\x86" if container == b"tuple" else b"(" + pair + b"l") + b"q" + bytes([i + 1]) + b"0"
    return out + b"h" + bytes([levels])


def test_pickle_bombs_are_refused_quickly(tmp_path):
    """Exponentially shared tuples (whose hash would walk 2**60 items) and lists (whose repr would) as a dict key,
    a tensor size and a persistent id: refused in milliseconds, before or while unpickling."""
    t0 = time.perf_counter()
    cases = {
        "tuple key": b"\x80\x02}" + _bomb(60, b"tuple") + b"Ns.",
        "list size": b"\x80\x02ccollections\nOrderedDict\n)R(" + hostile._u("w") + b"ctorch._utils\n_rebuild_tensor_v2\n"
        b"((" + hostile._u("storage") + b"ctorch\nFloatStorage\n" + hostile._u("0") + hostile._u("cpu")
        + b"K\x04tQK\x00" + _bomb(60, b"list") + b"(K\x01t\x89ccollections\nOrderedDict\n)RtRu.",
    }
    for name, data in cases.items():
        p = tmp_path / "bomb.pt"
        p.write_bytes(hostile.pt_archive(data, {"0": bytes(16)}))
        with pytest.raises(DataError, match=r"a pickle bomb|tensor size must be an integer in \[0, \d+\], got a list "
                                            "of 2 items"):
            read_torch_state(p, engine="builtin")
    assert time.perf_counter() - t0 < 2.0
