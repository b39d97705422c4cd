"""Importers: networks from other frameworks' files as executable :class:`hwsim.nn.graph.GraphNetwork` objects.

* :func:`load_onnx` and, for pruned networks, :func:`save_onnx` (:mod:`hwsim.importers.onnx_import`, needs the optional extra ``hwsim[onnx]``).
"""
from __future__ import annotations

from .onnx_import import SUPPORTED_OPS, load_onnx, save_onnx

__all__ = ["SUPPORTED_OPS", "load_onnx", "save_onnx"]
