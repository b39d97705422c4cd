"""The bit-serial engine's input quantization kernel (``_kernels_run.quantize_rows`` via ``run.quantize_inputs``)
against its numpy oracle, bit for bit, and its refusal of NaN / inf inputs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from hwsim.errors import DataError
from hwsim.reram import _reference as ref
from hwsim.reram.run import quantize_inputs

_FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=150, deadline=None)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40), elements=_FLOATS),
       bits=st.integers(1, 16), f64=st.booleans())
def test_matches_oracle_bit_for_bit_on_both_signs(x, bits, f64):
    x = x.astype(np.float64) if f64 else x
    imax = 2 ** bits - 1
    xq, sx, neg = quantize_inputs(x, bits)
    want_q, want_s = ref.quantize_inputs(np.maximum(x, 0), imax)
    np.testing.assert_array_equal(xq, want_q)
    np.testing.assert_array_equal(sx, want_s)
    assert neg == int(np.count_nonzero(x < 0))
    xq, sx, _ = quantize_inputs(x, bits, sign=-1.0)
    want_q, want_s = ref.quantize_inputs(np.maximum(-x.astype(np.float64), 0), imax)
    np.testing.assert_array_equal(xq, want_q)
    np.testing.assert_array_equal(sx, want_s)


def test_hand_computed_rows():
    x = np.array([[0.0, 0.5, 1.0, 0.26], [0.0, 0.0, 0.0, 0.0], [-1.0, -2.0, 0.0, 0.0]], dtype=np.float32)
    xq, sx, neg = quantize_inputs(x, 2)  # 3 levels: scale max/3
    np.testing.assert_array_equal(sx, [1.0 / 3, 1.0, 1.0])  # an all-zero or all-negative row keeps scale 1
    np.testing.assert_array_equal(xq, [[0, 2, 3, 1], [0, 0, 0, 0], [0, 0, 0, 0]])  # 0.5 * 3 = 1.5 rounds up
    assert neg == 2
    xq, sx, _ = quantize_inputs(x, 2, sign=-1.0)
    np.testing.assert_array_equal(sx[2], 2.0 / 3)
    np.testing.assert_array_equal(xq[2], [2, 3, 0, 0])


def test_non_contiguous_and_integer_inputs():
    x = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    xq, sx, _ = quantize_inputs(x, 8)
    want = ref.quantize_inputs(np.ascontiguousarray(x), 255)
    np.testing.assert_array_equal(xq, want[0])
    xq_i, _, _ = quantize_inputs(x.astype(np.int32), 8)
    np.testing.assert_array_equal(xq_i, want[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_refused(bad):
    x = np.ones((3, 5), dtype=np.float32)
    x[1, 2] = bad
    with pytest.raises(DataError, match="NaN or inf"):
        quantize_inputs(x, 8)
