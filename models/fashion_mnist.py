"""Fashion-MNIST (Xiao et al. 2017, Zalando, MIT licence) from the standard IDX files.

Search order for the folder: the ``data_dir`` argument, the ``HWSIM_DATA_DIR`` environment variable,
then Debian's package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist). MNIST uses the
same file names and format, so pointing ``data_dir`` at an MNIST folder loads MNIST.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hwsim.errors import DataError

from .idx import read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


_HOW = ("Install it with 'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or put the four IDX files "
        "(train-images-idx3-ubyte[.gz], ...) in a folder and pass it as data_dir / --data-dir or set HWSIM_DATA_DIR.")


def find_data_dir(data_dir: str | Path | None = None) -> Path:
    """The folder holding the IDX files, or DataError saying how to get them. A folder named by ``data_dir`` or by
    a non-empty ``HWSIM_DATA_DIR`` must hold them: neither falls back to the Debian folder."""
    env = os.environ.get("HWSIM_DATA_DIR", "")
    if data_dir is None and env:
        data_dir, named = env, f"HWSIM_DATA_DIR={env!r}"
    else:
        named = f"data_dir {str(data_dir)!r}"
    if data_dir is not None:
        c = Path(data_dir)
        if not c.is_dir():
            raise DataError(f"Fashion-MNIST not found: {named} is no folder. {_HOW}")
        if _find(c, _FILES["test"][0]) is None:
            raise DataError(f"Fashion-MNIST not found: {named} holds no IDX files. {_HOW}")
        return c
    if _find(DEBIAN_DIR, _FILES["test"][0]) is not None:
        return DEBIAN_DIR
    raise DataError(f"Fashion-MNIST not found (looked in {DEBIAN_DIR}). {_HOW}")


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def load(split: str = "test", data_dir: str | Path | None = None, limit: int | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 (n, 1, 28, 28) scaled to [0, 1] and labels as int64 (n,)."""
    if split not in _FILES:
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise DataError(f"limit must be a positive integer (images), got {limit!r}")
    folder = find_data_dir(data_dir)
    img_stem, lab_stem = _FILES[split]
    img_path, lab_path = _find(folder, img_stem), _find(folder, lab_stem)
    if img_path is None or lab_path is None:
        raise DataError(f"{folder} lacks the {split} files {img_stem}[.gz] and {lab_stem}[.gz]")
    images = read_idx(img_path, expect_ndim=3)
    labels = read_idx(lab_path, expect_ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataError(f"{split} IDX files must hold unsigned bytes, got {images.dtype} and {labels.dtype}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"{split}: labels must lie in 0..9, found {labels.max()}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return x, labels.astype(np.int64)


def held_out_split(x: np.ndarray, y: np.ndarray, n_val: int = 5000
                   ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split a test set into a validation part (the first ``n_val`` samples) and a held-out part (the rest).

    The shipped weights were trained on all 60k training images, so no training split measures
    generalisation. Experiments that *decide* something (an accuracy floor, a recipe, a regulariser) decide
    on ``(x_val, y_val)`` and report on ``(x_rest, y_rest)``, which no decision has seen; the Fashion-MNIST
    test set splits 5000 / 5000. The split is by position (the IDX order), so it is the same in every run.
    Returns ``((x_val, y_val), (x_rest, y_rest))`` as views of the inputs.
    """
    if len(x) != len(y):
        raise DataError(f"held_out_split: {len(x)} samples but {len(y)} labels")
    if not 0 < n_val < len(x):
        raise DataError(f"held_out_split: n_val={n_val} must lie in 1..{len(x) - 1} to leave both parts "
                        f"non-empty ({len(x)} samples)")
    return (x[:n_val], y[:n_val]), (x[n_val:], y[n_val:])
