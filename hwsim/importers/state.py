"""State files -- trained weights under PyTorch's names -- and binding them to an architecture (issue 12).

:func:`read_state` reads ``.pt`` / ``.pth`` (:mod:`hwsim.importers.torch_state`, no pickle code run),
``.safetensors`` (:mod:`hwsim.importers.safetensors_io`) and ``.npz`` (read like a weights file: no pickles) into
``{name: array}``. The names are PyTorch's ``state_dict()`` names, ``MODULE.PARAMETER``:

* a linear layer ``fc1``: ``fc1.weight`` (out, in) and ``fc1.bias`` (out);
* a convolution ``conv1``: ``conv1.weight`` (C_out, C_in/groups, kh, kw) -- or its im2col matrix (C_out,
  C_in*kh*kw) -- and ``conv1.bias``; the weight is placed in the im2col order of :mod:`hwsim.nn.im2col`;
* a batch normalisation ``bn1`` (layer specs and ONNX graphs): ``bn1.weight`` (gamma), ``bn1.bias`` (beta),
  ``bn1.running_mean``, ``bn1.running_var``; ``*.num_batches_tracked`` is ignored wherever it appears.

:func:`bind_state` installs a state into a network built from a zoo name or a layer spec. Every parameter the
network expects must be in the state -- a layer's bias included, unless a layer spec declares ``bias = false`` --
and every tensor of the state must be expected: one :class:`DataError` lists the missing names, the unmatched
ones and those of the wrong shape (a bias is never silently zero). Exact zeros of a weight are pruned weights
(its mask), as in weights files and ONNX graphs. An ONNX graph binds a state to its initializers by the same
names (:func:`hwsim.importers.load_onnx` ``state=``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import DataError

#: File suffixes :func:`read_state` reads.
STATE_SUFFIXES = (".pt", ".pth", ".safetensors", ".npz")


def read_state(path: str | Path) -> dict[str, np.ndarray]:
    """name -> array of a state file (``.pt``, ``.pth``, ``.safetensors``, ``.npz``), in file order; DataError on
    any problem, including an unknown suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".pt", ".pth"):
        from .torch_state import read_torch_state

        return read_torch_state(p)
    if suffix == ".safetensors":
        from .safetensors_io import read_safetensors

        return read_safetensors(p)
    if suffix == ".npz":
        from ..weights_io import read_npz_arrays

        return dict(read_npz_arrays(p, "state file"))
    raise DataError(f"state file {str(p)!r}: unknown type {suffix or '(no suffix)'!r}; give a PyTorch state_dict "
                    f"({', '.join(STATE_SUFFIXES)})")


def as_state(state: Any) -> tuple[dict[str, np.ndarray], str]:
    """(name -> array, description for errors) of a state given as a path or a dict."""
    if isinstance(state, dict):
        return state, "the state"
    return read_state(state), f"state file {str(state)!r}"


def _listing(names: list[str], n: int = 20) -> str:
    return ", ".join(names[:n]) + (f" ... ({len(names) - n} more)" if len(names) > n else "")


def check_names(expected: list[str], given: list[str], source: str, where: str, hint: str = "") -> None:
    """One DataError when a name of ``expected`` is not in ``given`` or one of ``given`` (``*.num_batches_tracked``
    excepted) is not expected; it lists both, and suggests stripping a ``module.`` prefix (nn.DataParallel) when
    that would match."""
    exp = set(expected)
    giv = [k for k in given if not k.endswith(".num_batches_tracked")]
    unmatched = [k for k in giv if k not in exp]
    missing = [k for k in expected if k not in set(giv)]
    if not unmatched and not missing:
        return
    parts = []
    if unmatched:
        parts.append(f"{len(unmatched)} tensor(s) of {source} match no parameter of {where}: {_listing(unmatched)}")
    if missing:
        parts.append(f"{len(missing)} parameter(s) of {where} are missing from {source}: {_listing(missing)}")
    if unmatched and all(k.startswith("module.") for k in unmatched) and \
            {k[len("module."):] for k in unmatched} >= set(missing):
        hint = " (saved from nn.DataParallel: strip the 'module.' prefix from the names)"
    raise DataError("; ".join(parts) + hint)


def _array(state: dict[str, np.ndarray], key: str, source: str) -> np.ndarray:
    v = np.asarray(state[key])
    if v.dtype.kind not in "fiub":
        raise DataError(f"{source}: tensor {key!r} has non-numeric dtype {v.dtype}")
    with np.errstate(invalid="ignore", over="ignore"):
        a = v.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise DataError(f"{source}: tensor {key!r} holds NaN/inf values")
    return a


def expected_names(network: Any) -> list[str]:
    """The state names a zoo or layer-spec network expects (see the module doc), in network order."""
    from ..nn.graph import BatchNorm
    from ..nn.layers import WeightedLayer

    names = []
    for layer in _layers(network):
        if isinstance(layer, WeightedLayer):
            names.append(f"{layer.name}.weight")
            if getattr(layer, "has_bias", True):
                names.append(f"{layer.name}.bias")
        elif isinstance(layer, BatchNorm):
            names += [f"{layer.name}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
    return names


def _layers(network: Any) -> list[Any]:
    return list(getattr(network, "layers", network))


def bind_state(network: Any, state: Any, where: Optional[str] = None) -> Any:
    """Install ``state`` (a path or a name -> array dict) into ``network`` -- a zoo network, a layer-spec network
    before its batch norms are folded, or a list of its layers -- by PyTorch's names (see the module doc); returns
    ``network``. Every name and shape is checked before anything is installed."""
    from ..nn.graph import BatchNorm
    from ..nn.im2col import conv_mask, conv_matrix, kernel_shape
    from ..nn.layers import WeightedLayer

    arrays, source = as_state(state)
    where = where or f"network {getattr(network, 'name', '')!r}"
    check_names(expected_names(network), list(arrays), source, where)
    plan: list[tuple[Any, dict[str, np.ndarray]]] = []
    bad = []
    for layer in _layers(network):
        if isinstance(layer, WeightedLayer):
            key = f"{layer.name}.weight"
            w = _array(arrays, key, source)
            ks = kernel_shape(layer)
            if ks is not None:  # a convolution: 4-D, or its im2col matrix
                try:
                    mat = conv_matrix(layer, w, f"{source}: tensor {key!r}")
                except DataError:
                    bad.append(f"{key} {tuple(w.shape)} (expected {ks} or {layer.weight.shape})")
                    continue
                mask = conv_mask(layer, w != 0)
            elif w.shape == layer.weight.shape:
                mat, mask = w, w != 0
            else:
                bad.append(f"{key} {tuple(w.shape)} (expected {layer.weight.shape})")
                continue
            item = {"weight": mat, "mask": mask}
            if getattr(layer, "has_bias", True):
                b = _array(arrays, f"{layer.name}.bias", source)
                if b.shape != (layer.weight.shape[0],):
                    bad.append(f"{layer.name}.bias {tuple(b.shape)} (expected ({layer.weight.shape[0]},))")
                    continue
                item["bias"] = b
            plan.append((layer, item))
        elif isinstance(layer, BatchNorm):
            item = {}
            for k in ("weight", "bias", "running_mean", "running_var"):
                v = _array(arrays, f"{layer.name}.{k}", source)
                if v.shape != (layer.channels,):
                    bad.append(f"{layer.name}.{k} {tuple(v.shape)} (expected ({layer.channels},))")
                item[k] = v
            if np.any(item["running_var"] + layer.eps <= 0):
                bad.append(f"{layer.name}.running_var (var + eps <= 0)")
            plan.append((layer, item))
    if bad:
        raise DataError(f"{source}: {len(bad)} tensor(s) of the wrong shape for {where}: {_listing(bad)}")
    for layer, item in plan:
        if isinstance(layer, BatchNorm):
            layer.gamma, layer.beta = item["weight"], item["bias"]
            layer.running_mean, layer.running_var = item["running_mean"], item["running_var"]
            layer.refresh()
        else:
            layer.set_mask(item["mask"])
            layer.set_weight(item["weight"].astype(layer.weight.dtype),
                             item["bias"].astype(layer.bias.dtype) if "bias" in item else
                             np.zeros_like(layer.bias))
    return network
