import numpy as np
import pytest

from hwsim.errors import DataError
from models.fashion_mnist import held_out_split


def test_held_out_split_is_first_n_val_then_the_rest():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    (xv, yv), (xr, yr) = held_out_split(x, y, n_val=4)
    np.testing.assert_array_equal(yv, [0, 1, 2, 3])
    np.testing.assert_array_equal(yr, [4, 5, 6, 7, 8, 9])
    np.testing.assert_array_equal(np.concatenate([xv, xr]), x)


def test_held_out_split_default_halves_the_test_set(fmnist_test):
    (xv, yv), (xr, yr) = held_out_split(*fmnist_test)
    assert len(yv) == len(yr) == 5000 and xv.shape[1:] == xr.shape[1:] == (1, 28, 28)


@pytest.mark.parametrize("n_val", [0, 10, -1])
def test_held_out_split_refuses_an_empty_part(n_val):
    with pytest.raises(DataError, match="n_val"):
        held_out_split(np.zeros((10, 2)), np.zeros(10), n_val=n_val)


def test_held_out_split_refuses_mismatched_lengths():
    with pytest.raises(DataError, match="labels"):
        held_out_split(np.zeros((10, 2)), np.zeros(9))
