"""PyTorch-named weights (.safetensors) bound to an ONNX graph (issue 12): the package-free reader against the
reference writer, binding by name, and hostile files."""
from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import onnx_models as M  # noqa: E402

from hwsim.errors import DataError  # noqa: E402
from hwsim.importers import load_onnx, read_safetensors  # noqa: E402


def _write(path, tensors: dict, header_extra: dict | None = None) -> None:
    """A minimal safetensors writer (the format: u64 header size, JSON table, little-endian data)."""
    codes = {"float32": "F32", "float64": "F64", "float16": "F16", "int64": "I64", "uint8": "U8"}
    table, blobs, off = dict(header_extra or {}), [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<")).tobytes()
        table[k] = {"dtype": codes[v.dtype.name], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    head = json.dumps(table).encode()
    path.write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))


def _params(model) -> dict:
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_reader_matches_the_reference_implementation(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    arrays = {"a.weight": rng.standard_normal((3, 4, 2, 2)).astype(np.float32), "b": np.arange(5, dtype=np.int64),
              "c": rng.standard_normal(7).astype(np.float16), "empty": np.zeros((0, 3), np.float32)}
    st.save_file(arrays, str(tmp_path / "x.safetensors"), metadata={"format": "pt"})
    got = read_safetensors(tmp_path / "x.safetensors")
    assert list(got) == list(st.load_file(str(tmp_path / "x.safetensors")))
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)


def test_state_replaces_the_graph_parameters_by_pytorch_name(tmp_path):
    src = tmp_path / "res.onnx"
    src.write_bytes(M.residual(seed=0).SerializeToString())
    other = M.residual(seed=5)  # same graph, other weights (conv1.weight, bn1.running_mean, ...)
    (tmp_path / "other.onnx").write_bytes(other.SerializeToString())
    state = {k: v for k, v in _params(other).items()}
    state["bn1.num_batches_tracked"] = np.array(7, np.int64)  # PyTorch's counter: ignored
    _write(tmp_path / "w.safetensors", state)
    x = np.random.default_rng(1).random((4, 1, 28, 28), dtype=np.float32)
    bound = load_onnx(src, state=tmp_path / "w.safetensors")
    assert np.array_equal(bound.forward(x), load_onnx(tmp_path / "other.onnx").forward(x))


def test_unmatched_and_missing_names_are_one_error(tmp_path):
    src = tmp_path / "res.onnx"
    src.write_bytes(M.residual().SerializeToString())
    state = _params(M.residual())
    del state["layer1.bn2.running_var"], state["fc.bias"]
    state["fc1.weight"] = np.zeros((10, 32), np.float32)
    _write(tmp_path / "w.safetensors", state)
    with pytest.raises(DataError, match=r"1 tensor\(s\) .* match no parameter of the graph: fc1.weight; 2 parameter"
                                        r"\(s\) of the graph are missing .*: fc.bias, layer1.bn2.running_var"):
        load_onnx(src, state=tmp_path / "w.safetensors")
    state = _params(M.residual())
    state["fc.weight"] = np.zeros((32, 10), np.float32)
    _write(tmp_path / "w.safetensors", state)
    with pytest.raises(DataError, match=r"'fc.weight' has shape \(32, 10\), the graph's \(10, 32\)"):
        load_onnx(src, state=tmp_path / "w.safetensors")


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:4], "too short"),
    (lambda b: (10**12).to_bytes(8, "little") + b[8:], "header claims"),
    (lambda b: (5).to_bytes(8, "little") + b"[1,2]" + b[8:], "JSON object|not valid JSON"),
    (lambda b: b[:-3], "outside"),
])
def test_hostile_safetensors_are_data_errors(tmp_path, mutate, message):
    p = tmp_path / "w.safetensors"
    _write(p, {"w": np.ones((4, 4), np.float32)})
    p.write_bytes(mutate(p.read_bytes()))
    with pytest.raises(DataError, match=message):
        read_safetensors(p)


def test_hostile_headers(tmp_path):
    p = tmp_path / "w.safetensors"
    for table, message in (
            ({"w": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 16]}}, "limit|outside|need"),
            ({"w": {"dtype": "O", "shape": [1], "data_offsets": [0, 4]}}, "unsupported dtype"),
            ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "invalid shape"),
            ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, "overlap")):
        head = json.dumps(table).encode()
        p.write_bytes(len(head).to_bytes(8, "little") + head + bytes(16))
        with pytest.raises(DataError, match=message):
            read_safetensors(p)
    _write(p, {"w": np.ones((4, 4), np.float32), "b": np.ones(4, np.float32)})
    for b in M.mutated(p.read_bytes(), 500, 3):  # byte mutations: read or one DataError
        p.write_bytes(b)
        try:
            read_safetensors(p)
        except DataError:
            pass


def test_cli_state_flag(tmp_path, capsys):
    from hwsim.cli import main

    src = tmp_path / "res.onnx"
    src.write_bytes(M.residual().SerializeToString())
    _write(tmp_path / "w.safetensors", _params(M.residual(seed=3)))
    assert main(["cost", "--weights", str(src), "--state", str(tmp_path / "w.safetensors"), "--hardware",
                 "reram", "--json"]) == 0
    capsys.readouterr()
    # a zoo model binds a state by name: the residual block's names match none of LeNet-5's -> one error listing them
    assert main(["cost", "--model", "lenet5", "--state", str(tmp_path / "w.safetensors"), "--hardware", "reram"]) == 2
    err = capsys.readouterr().err
    assert "match no parameter of zoo model 'lenet5'" in err and "missing from" in err and "fc3.bias" in err
    assert main(["cost", "--weights", str(src), "--state", str(tmp_path / "w.safetensors"), "--model", "lenet5",
                 "--hardware", "reram"]) == 2
