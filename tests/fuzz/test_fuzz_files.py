"""Fuzz family: files. Byte mutations of valid weights and programming files, and .npz archives built from
arbitrary arrays. Oracle: the reader returns exactly what was written, or raises one DataError; nothing else."""
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hostile
from hwsim.errors import DataError
from hwsim.weights_io import read_weights

SETTINGS = settings(max_examples=hostile.EXAMPLES, deadline=None, derandomize=hostile.EXAMPLES <= 50,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _small_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    w1, w2 = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((3, 6)).astype(np.float32)
    w2[0] = 0.0
    return {"fc1": w1, "fc1.bias": rng.standard_normal(6).astype(np.float32), "fc1.mask": w1 != 0, "fc2": w2}


def _valid_bytes(compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **_small_weights())
    return buf.getvalue()


VALID = {False: _valid_bytes(False), True: _valid_bytes(True)}


@st.composite
def mutations(draw):
    """A valid archive (stored or deflated) with 1-8 edits: bit flips, byte overwrites, truncation, insertion,
    deletion, or a duplicated range."""
    compressed = draw(st.booleans())
    d = bytearray(VALID[compressed])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "byte", "truncate", "insert", "delete", "duplicate"]))
        i = draw(st.integers(0, max(0, len(d) - 1)))
        if kind == "flip" and d:
            d[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and d:
            d[i] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del d[i:]
        elif kind == "insert":
            d[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del d[i:i + draw(st.integers(1, 16))]
        elif kind == "duplicate":
            j = draw(st.integers(i, min(len(d), i + 64)))
            d[j:j] = d[i:j]
    return compressed, bytes(d)


def _check_same(wf, expected: dict[str, np.ndarray]) -> None:
    """A file read despite a mutation must hold exactly what was written (else: a silent wrong result)."""
    names = [k for k in expected if "." not in k]
    assert [k for k, _ in wf.weights] == names
    for k, w in wf.weights:
        np.testing.assert_array_equal(w, expected[k])
    for k, b in wf.biases.items():
        np.testing.assert_array_equal(b, expected[k + ".bias"])
    for k, m in wf.masks.items():
        np.testing.assert_array_equal(m, expected[k + ".mask"])


@SETTINGS
@given(mutations())
def test_fuzz_mutated_weights_file(tmp_path, case):
    hostile.CASES["weights file mutations"] += 1
    compressed, data = case
    p = tmp_path / "m.npz"
    p.write_bytes(data)
    try:
        wf = read_weights(p)
    except DataError as exc:
        assert str(p) in str(exc)
        return
    _check_same(wf, _small_weights())


DTYPES = st.sampled_from(["<f2", "<f4", "<f8", ">f2", ">f4", ">f8", "<i2", ">i8", "u1", "?", "<c16", "<U3", "<M8[s]",
                          np.dtype(np.longdouble).str])


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=min(64, 8 * dtype.itemsize))
    elif dtype.kind == "c":
        elements = st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e3)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def archives(draw):
    n = draw(st.integers(0, 4))
    names = draw(st.lists(st.sampled_from(["a", "b", "a.bias", "a.mask", "b.mask", "c.bias", "x.y"]), min_size=n,
                          max_size=n, unique=True))
    return {k: draw(arrays()) for k in names}


@SETTINGS
@given(archives(), st.booleans(), st.booleans())
def test_fuzz_arbitrary_arrays_as_weights(tmp_path, arrs, compressed, fortran):
    hostile.CASES["weights file arrays"] += 1
    p = tmp_path / "w.npz"
    members = {k + ".npy": hostile.npy_bytes(np.asfortranarray(v) if fortran else v) for k, v in arrs.items()}
    hostile.write_zip(p, members, zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED)
    try:
        wf = read_weights(p)
    except DataError:
        return
    for k, w in wf.weights:  # accepted: a 2-D finite matrix in a kernel dtype, value for value what was written
        src = arrs[k]
        assert w.ndim == 2 and w.dtype in (np.float32, np.float64) and w.dtype.isnative
        assert np.all(np.isfinite(w))
        np.testing.assert_array_equal(w, src.astype(w.dtype))


def _programming_bytes() -> bytes:
    from hwsim import photonic

    rng = np.random.default_rng(3)
    m = photonic.map([rng.standard_normal((5, 7))], photonic.resolve_config(overrides={"mesh.tile": 4}))
    buf = io.BytesIO()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        photonic.save_programming(m, Path(d) / "chip.npz")
        buf.write((Path(d) / "chip.npz").read_bytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def programming_file():
    from hwsim import photonic

    data = _programming_bytes()
    return data, photonic


@SETTINGS
@given(st.data())
def test_fuzz_mutated_programming_file(tmp_path, programming_file, data):
    hostile.CASES["programming file mutations"] += 1
    valid, photonic = programming_file
    d = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(d) - 1))
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
        if kind == "flip":
            d[i] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "truncate":
            del d[max(i, 1):]
        else:
            d[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    p = tmp_path / "chip.npz"
    p.write_bytes(bytes(d))
    (tmp_path / "ref.npz").write_bytes(valid)
    try:
        m = photonic.load_programming(p)
    except DataError:
        return
    ref = photonic.load_programming(tmp_path / "ref.npz")
    for a, b in zip(m.layers, ref.layers):  # accepted: the same chip
        np.testing.assert_array_equal(a.phases, b.phases)
        np.testing.assert_array_equal(a.gains, b.gains)
    assert photonic.cost(m).total == photonic.cost(ref).total


def _valid_pt() -> bytes:
    from hwsim.importers.torch_state import state_pickle

    pkl, blobs = state_pickle(_small_weights())
    return hostile.pt_archive(pkl, {str(i): b for i, b in enumerate(blobs)})


VALID_PT = _valid_pt()


@SETTINGS
@given(st.data())
def test_fuzz_mutated_torch_state(tmp_path, data):
    """A PyTorch .pt state_dict with byte edits, read by the built-in (no-torch) reader: the exact arrays written,
    or one DataError; no import, exec or process while reading (audit events, hostile.no_code_run)."""
    from hwsim.importers import read_torch_state

    hostile.CASES["pt file mutations"] += 1
    d = bytearray(VALID_PT)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, max(0, len(d) - 1)))
        kind = data.draw(st.sampled_from(["flip", "byte", "truncate", "insert", "delete"]))
        if kind == "flip" and d:
            d[i] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "byte" and d:
            d[i] = data.draw(st.integers(0, 255))
        elif kind == "truncate":
            del d[i:]
        elif kind == "insert":
            d[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        else:
            del d[i:i + data.draw(st.integers(1, 16))]
    p = tmp_path / "m.pt"
    p.write_bytes(bytes(d))
    read_torch_state(DATA_PT, engine="builtin")  # lazy imports before the audit window
    with hostile.no_code_run() as events:
        try:
            got = read_torch_state(p, engine="builtin")
        except DataError:
            got = None
    assert events == []
    if got is not None:  # the data members are CRC-checked: a file that reads holds what was written
        want = _small_weights()
        assert list(got) == list(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])


DATA_PT = Path(__file__).parents[1] / "data" / "tiny_cnn.pt"
