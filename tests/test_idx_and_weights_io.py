"""Hostile and corrupt files: IDX data and weights .npz."""
import gzip
import struct

import numpy as np
import pytest

from hwsim.errors import DataError
from hwsim.weights_io import read_weights
from models import fashion_mnist
from models.idx import read_idx


def _idx_bytes(arr, code=0x08):
    return struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_idx_roundtrip_plain_and_gz(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a))
    with gzip.open(tmp_path / "a.idx.gz", "wb") as f:
        f.write(_idx_bytes(a))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), a)
    b = np.arange(6, dtype=">i4").reshape(2, 3)
    (tmp_path / "b.idx").write_bytes(_idx_bytes(b, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx"), b)


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:2], "truncated"),
    (lambda b: b"\x00\x01" + b[2:], "wrong magic"),
    (lambda b: b[:2] + b"\x07" + b[3:], "wrong magic"),
    (lambda b: b[:10], "truncated"),
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: b[:3] + b"\x02" + b[4:], "declares 2 dimensions"),
])
def test_idx_rejects_malformed(tmp_path, mutate, match):
    good = _idx_bytes(np.zeros((2, 3, 4), np.uint8))
    p = tmp_path / "bad.idx"
    p.write_bytes(mutate(good))
    with pytest.raises(DataError, match=match):
        read_idx(p, expect_ndim=3)


def test_idx_rejects_corrupt_gzip_and_huge_dims(tmp_path):
    p = tmp_path / "x.idx.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match="corrupt"):
        read_idx(p)
    huge = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">3I", 2**31, 2**20, 8)
    (tmp_path / "h.idx").write_bytes(huge)
    with pytest.raises(DataError, match="limit"):
        read_idx(tmp_path / "h.idx")


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load("test", data_dir=tmp_path)
    with pytest.raises(DataError, match="unknown split"):
        fashion_mnist.load("valid")


def test_loader_reads_an_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1], np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(imgs))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    x, y = fashion_mnist.load("test", data_dir=tmp_path)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and x.max() <= 1.0
    np.testing.assert_array_equal(y, labels)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels[:4]))
    with pytest.raises(DataError, match="5 images but 4 labels"):
        fashion_mnist.load("test", data_dir=tmp_path)


def _lenet_arrays():
    import models

    return models.get("lenet-300-100").state()


def test_weights_roundtrip(tmp_path):
    import models

    net = models.get("lenet-300-100", seed=1)
    net.weighted_layers()[0].set_mask(np.random.default_rng(0).random((300, 784)) > 0.5)
    net.save(tmp_path / "w.npz")
    other = models.get("lenet-300-100", seed=2).load(tmp_path / "w.npz")
    for a, b in zip(net.weighted_layers(), other.weighted_layers()):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.bias, b.bias)


def test_weights_without_masks_take_zeros_as_pruned(tmp_path):
    import models

    arrs = {k: v for k, v in _lenet_arrays().items() if not k.endswith(".mask")}
    arrs["fc1"] = arrs["fc1"].copy()
    arrs["fc1"][:, :100] = 0
    np.savez(tmp_path / "w.npz", **arrs)
    net = models.get("lenet-300-100").load(tmp_path / "w.npz")
    assert net.weighted_layers()[0].mask[:, :100].sum() == 0


@pytest.mark.parametrize("edit,match", [
    (lambda a: [a.pop(k) for k in ("fc3", "fc3.bias", "fc3.mask")], "holds 2 weight matrices"),
    (lambda a: a.update(extra=np.zeros((3, 3))), "holds 4 weight matrices"),
    (lambda a: [a.pop("fc2.mask"), a.update(fc2=np.zeros((100, 299)))], "needs"),
    (lambda a: a.update(fc2=np.zeros(100)), "2-D"),
    (lambda a: a.update(fc2=np.full((100, 300), np.inf)), "NaN/inf"),
    (lambda a: a.update({"fc2.bias": np.zeros(3)}), "bias"),
    (lambda a: a.update({"fc2.mask": np.zeros((3, 3), bool)}), "mask shape"),
    (lambda a: a.update({"nope.mask": np.zeros((3, 3), bool)}), "has no weight array"),
])
def test_weights_file_errors(tmp_path, edit, match):
    import models

    arrs = dict(_lenet_arrays())
    edit(arrs)
    np.savez(tmp_path / "w.npz", **arrs)
    with pytest.raises(DataError, match=match):
        models.get("lenet-300-100").load(tmp_path / "w.npz")


def test_pickled_object_array_is_refused(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, fc1=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="pickle"):
        read_weights(p)


def test_corrupt_and_missing_npz(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a valid .npz"):
        read_weights(p)
    with pytest.raises(DataError, match="does not exist"):
        read_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "s.npz", name=np.array(["a", "b"]))
    with pytest.raises(DataError, match="non-numeric"):
        read_weights(tmp_path / "s.npz")
