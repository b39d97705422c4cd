"""Shipped weights reach the accuracy the foundation issue asks for, on the full Fashion-MNIST test set."""
import pytest

import models


@pytest.mark.parametrize("name,floor", [("lenet-300-100", 0.890), ("lenet5", 0.900), ("resnet20", 0.925)])
def test_shipped_weights_accuracy(name, floor, fmnist_test):
    x, y = fmnist_test
    assert len(y) == 10_000
    acc = models.get(name, pretrained=True).accuracy(x, y)
    assert acc >= floor, f"{name}: {acc:.4f} < {floor}"
