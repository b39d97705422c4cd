"""Selection: hand-checked masks for every structure and scope, properties, and bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import hwsim.prune as hp
from hwsim.errors import ConfigError, DataError

A = np.arange(12, dtype=float).reshape(3, 4)  # scores 0..11


def test_unstructured_per_layer_prunes_lowest_scores():
    (m,) = hp.select([A], 0.25)
    assert (~m).sum() == 3
    np.testing.assert_array_equal(~m, A < 3)


def test_per_layer_sparsity_floors_the_count():
    (m,) = hp.select([A], 0.3)  # 3.6 -> 3 weights
    assert (~m).sum() == 3


def test_per_layer_list_of_sparsities():
    m = hp.select([A, A], [0.5, 0.0])
    assert (~m[0]).sum() == 6 and m[1].all()


def test_global_scope_compares_across_layers():
    small, large = np.full((2, 2), 1.0), np.full((2, 2), 5.0)
    small[0, 0] = 0.5
    m = hp.select([small, large], 0.5, scope="global")
    # 4 of 8 weights: all of 'small' but its best (layer-collapse guard keeps one), then the lowest of 'large'
    assert (~m[0]).sum() == 3 and m[0][0, 1] and (~m[1]).sum() == 1
    assert hp.sparsity_of(m) == 0.5


def test_existing_masks_stay_pruned_and_count():
    old = np.ones((3, 4), dtype=bool)
    old[2, 3] = False  # the best weight was pruned before
    (m,) = hp.select([A], 0.25, masks=[old])
    assert not m[2, 3]
    assert (~m).sum() == 3
    np.testing.assert_array_equal(~m[0], [True, True, False, False])


def test_neuron_structure_prunes_rows_and_protects_output_layer():
    rows = np.array([[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]])
    m = hp.select([rows, rows.copy()], 1 / 3, structure="neuron")
    np.testing.assert_array_equal(m[0], [[False, False], [True, True], [True, True]])
    assert m[1].all()  # last layer = class outputs
    m = hp.select([rows, rows.copy()], 1 / 3, structure="filter", protect_output=False)
    assert not m[1][0].any()


def test_input_structure_prunes_columns():
    (m,) = hp.select([A], 0.5, structure="input")  # column means 4, 5, 6, 7
    np.testing.assert_array_equal(m, np.tile([False, False, True, True], (3, 1)))


def test_block_structure_mean_scores():
    s = np.array([[1, 1, 9, 9], [1, 1, 9, 9], [5, 5, 0, 8], [5, 5, 0, 0]], dtype=float)
    (m,) = hp.select([s], 0.5, structure="block", block=(2, 2))
    # block means: TL 1, TR 9, BL 5, BR 2 -> prune TL and BR
    expect = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(m, expect)


def test_partial_edge_blocks_and_overshoot_by_less_than_a_group():
    s = np.arange(15, dtype=float).reshape(3, 5)
    (m,) = hp.select([s], 0.1, structure="block", block=(2, 2))  # target 1 weight: first block (4 weights)
    assert (~m).sum() == 4 and not m[:2, :2].any()


def test_xbar_structures_clip_to_small_layers():
    small = np.arange(6, dtype=float).reshape(2, 3)
    big = np.arange(64, dtype=float).reshape(8, 8)
    m = hp.select([big, small], 0.5, structure="xbar_tiles", tile=(4, 4))
    assert (~m[0]).sum() == 32 and not m[0][:4].any()  # tiles TL (mean 13.5) and TR (17.5) lowest
    assert m[1].all()  # one clipped tile: the layer keeps its only group
    m = hp.select([big], 0.25, structure="xbar_rows", tile=(4, 4))
    assert (~m[0]).sum() == 16 and not m[0][:4, :4].any()  # lowest 4 wordline segments, all in the first tile
    m = hp.select([big], 0.125, structure="xbar_cols", tile=(4, 4))
    # bitline groups (1 output x 4 inputs): row 0's two halves have the lowest means (1.5, 5.5)
    assert not m[0][0].any() and m[0][1:].all()


def test_nm_keeps_n_best_of_every_m():
    s = np.array([[4, 1, 3, 2, 0, 9, 8, 7], [1, 1, 1, 1, 5, 6, 7, 8]], dtype=float)
    (m,) = hp.select([s], None, structure="nm", n=2, m=4)
    np.testing.assert_array_equal(m, [[1, 0, 1, 0, 0, 1, 1, 0], [1, 1, 0, 0, 0, 0, 1, 1]])
    (m2,) = hp.select([s], 0.5, structure="nm", n=2, m=4)
    np.testing.assert_array_equal(m, m2)


def test_nm_partial_group_and_existing_mask():
    s = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    old = np.array([[False, True, True, True, True]])
    (m,) = hp.select([s], None, structure="nm", n=2, m=4, masks=[old])
    np.testing.assert_array_equal(m, [[False, True, True, False, True]])


def test_layer_collapse_guard_keeps_one_group_per_layer():
    (m,) = hp.select([A], 0.99)
    assert m.sum() == 1 and m[2, 3]


def test_sparsity_zero_keeps_all():
    (m,) = hp.select([A], 0.0)
    assert m.all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.floats(0, 0.999), st.integers(0, 2**31))
def test_unstructured_property_count_and_order(r, c, s, seed):
    scores = np.random.default_rng(seed).random((r, c))
    (m,) = hp.select([scores], s)
    n = r * c
    assert (~m).sum() == min(int(np.floor(s * n + 1e-9)), n - 1)
    if (~m).any() and m.any():
        assert scores[m].min() >= scores[~m].max()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5), st.floats(0, 0.95),
       st.integers(0, 2**31))
def test_block_property_whole_blocks_and_target(r, c, br, bc, s, seed):
    br, bc = min(br, r), min(bc, c)
    scores = np.random.default_rng(seed).random((r, c))
    (m,) = hp.select([scores], s, structure="block", block=(br, bc))
    for i in range(0, r, br):
        for j in range(0, c, bc):
            blk = m[i:i + br, j:j + bc]
            assert blk.all() or not blk.any()
    assert m.any()
    pruned, target = (~m).sum(), int(np.floor(s * r * c + 1e-9))
    assert pruned >= target or m.sum() <= br * bc  # reached, or only the guarded block is left
    assert pruned - target < br * bc


# ---- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_sparsity_outside_range(bad):
    with pytest.raises(ConfigError, match=r"sparsity must lie in \[0, 1\)"):
        hp.select([A], bad)


@pytest.mark.parametrize("bad", ["0.5", True, None])
def test_sparsity_not_a_number(bad):
    with pytest.raises(ConfigError, match="sparsity"):
        hp.select([A], bad)


def test_per_layer_sparsity_out_of_range():
    with pytest.raises(ConfigError, match="sparsity of layer 1 must lie in"):
        hp.select([A, A], [0.5, 1.0])


def test_per_layer_sparsities_wrong_count():
    with pytest.raises(ConfigError, match="got 3 sparsities for 2 layers"):
        hp.select([A, A], [0.5, 0.5, 0.5])


def test_per_layer_sparsities_with_global_scope():
    with pytest.raises(ConfigError, match="scope='layer'"):
        hp.select([A, A], [0.5, 0.5], scope="global")


def test_mask_of_wrong_shape():
    with pytest.raises(ConfigError, match=r"mask 0 has shape \(4, 3\)"):
        hp.select([A], 0.5, masks=[np.ones((4, 3), dtype=bool)])


def test_wrong_number_of_masks():
    with pytest.raises(ConfigError, match="got 2 masks for 1 layers"):
        hp.select([A], 0.5, masks=[np.ones((3, 4), bool)] * 2)


def test_mask_not_boolean():
    with pytest.raises(ConfigError, match="boolean"):
        hp.select([A], 0.5, masks=[np.full((3, 4), 0.5)])


def test_block_larger_than_layer():
    with pytest.raises(ConfigError, match=r"block \(4, 2\) is larger than layer 0 of shape \(3, 4\)"):
        hp.select([A], 0.5, structure="block", block=(4, 2))


def test_block_missing():
    with pytest.raises(ConfigError, match="needs block"):
        hp.select([A], 0.5, structure="block")


def test_block_not_positive():
    with pytest.raises(ConfigError, match="positive integers"):
        hp.select([A], 0.5, structure="block", block=(0, 2))


def test_xbar_without_tile():
    with pytest.raises(ConfigError, match="needs tile"):
        hp.select([A], 0.5, structure="xbar_tiles")


def test_nm_group_larger_than_layer():
    with pytest.raises(ConfigError, match="m=8 is larger than layer 0's 4 inputs"):
        hp.select([A], None, structure="nm", n=2, m=8)


def test_nm_contradicting_sparsity():
    with pytest.raises(ConfigError, match="contradicts"):
        hp.select([A], 0.9, structure="nm", n=2, m=4)


def test_nm_bad_n():
    with pytest.raises(ConfigError, match="1 <= n <= m"):
        hp.select([A], None, structure="nm", n=0, m=4)


def test_unknown_structure():
    with pytest.raises(ConfigError, match="unknown structure 'tiles'"):
        hp.select([A], 0.5, structure="tiles")


def test_unknown_scope():
    with pytest.raises(ConfigError, match="unknown scope 'net'"):
        hp.select([A], 0.5, scope="net")


def test_scores_not_a_list():
    with pytest.raises(ConfigError, match="non-empty list"):
        hp.select(A, 0.5)


def test_scores_not_2d():
    with pytest.raises(ConfigError, match="2-D"):
        hp.select([np.ones(3)], 0.5)


def test_scores_with_nan():
    with pytest.raises(DataError, match="NaN"):
        hp.select([np.full((2, 2), np.nan)], 0.5)
