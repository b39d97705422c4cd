"""Importers: networks from other frameworks' files as executable :class:`hwsim.nn.graph.GraphNetwork` objects.

* :func:`load_onnx` and, for pruned networks, :func:`save_onnx`
* :func:`read_safetensors` (no package needed): PyTorch weights bound to an ONNX graph by name (``load_onnx(...,
  state=FILE)``) (:mod:`hwsim.importers.onnx_import`, needs the optional extra ``hwsim[onnx]``).
"""
from __future__ import annotations

from .onnx_import import SUPPORTED_OPS, load_onnx, save_onnx
from .safetensors_io import read_safetensors

__all__ = ["SUPPORTED_OPS", "load_onnx", "read_safetensors", "save_onnx"]
