"""Numba kernels of the runtime against their numpy oracles."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.nn import _kernels, _reference


def _im2col(x, k, s, p):
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((n * oh * ow, c * k * k), dtype=x.dtype)
    _kernels.im2col(x, k, k, s, p, out)
    return out


geom = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7),
                 st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(geom, st.integers(0, 2**31 - 1))
def test_im2col_col2im_match_reference(g, seed):
    n, c, h, w, k, s, p = g
    if h + 2 * p < k or w + 2 * p < k:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    cols = _im2col(x, k, s, p)
    np.testing.assert_array_equal(cols, _reference.im2col(x, k, k, s, p))
    g_cols = rng.standard_normal(cols.shape)
    out = np.empty_like(x)
    _kernels.col2im(g_cols, n, c, h, w, k, k, s, p, out)
    np.testing.assert_allclose(out, _reference.col2im(g_cols, n, c, h, w, k, k, s, p), rtol=1e-12, atol=1e-12)


def test_col2im_is_adjoint_of_im2col(rng):
    # <im2col(x), g> == <x, col2im(g)> for every x, g
    x = rng.standard_normal((2, 3, 6, 5))
    cols = _im2col(x, 3, 2, 1)
    g = rng.standard_normal(cols.shape)
    back = np.empty_like(x)
    _kernels.col2im(g, 2, 3, 6, 5, 3, 3, 2, 1, back)
    assert np.isclose(np.sum(cols * g), np.sum(x * back), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 9), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_maxpool_matches_reference(n, c, h, k, seed):
    if h < k:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(n, c, h, h)).astype(np.float64)  # ties on purpose: first maximum wins
    oh = (h - k) // k + 1
    out = np.empty((n, c, oh, oh))
    am = np.empty((n, c, oh, oh), dtype=np.int64)
    _kernels.maxpool_forward(x, k, k, out, am)
    ref_out, ref_am = _reference.maxpool_forward(x, k, k)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(am, ref_am)
    g = rng.standard_normal(out.shape)
    gi = np.empty_like(x)
    _kernels.maxpool_backward(g, am, h, h, gi)
    np.testing.assert_allclose(gi, _reference.maxpool_backward(g, ref_am, h, h), rtol=1e-12)


def test_hand_computed_im2col():
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    cols = _im2col(x, 2, 1, 0)
    np.testing.assert_array_equal(cols, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
