"""Importers: networks and weights from other frameworks' files, as executable :class:`hwsim.nn.graph.GraphNetwork`
objects or bound to an architecture.

* :func:`load_onnx` and, for pruned networks, :func:`save_onnx` (:mod:`hwsim.importers.onnx_import`, needs the
  optional extra ``hwsim[onnx]``); :func:`export_onnx`: any network -- a zoo model, an imported graph, a pruned
  one -- written as ONNX from its own layers (:mod:`hwsim.importers.onnx_export`);
* :func:`load_layer_spec`: your own MLP / CNN from a small TOML list of layers (:mod:`hwsim.importers.layer_spec`);
* :func:`read_state` / :func:`bind_state`: PyTorch state_dicts (``.pt`` / ``.pth`` read without running pickle code,
  :mod:`hwsim.importers.torch_state`; ``.safetensors``; ``.npz``) bound by name to a zoo model, a layer spec or
  an ONNX graph (:mod:`hwsim.importers.state`);
* :func:`read_torch_state`, :func:`save_torch_state`, :func:`read_safetensors`: the file readers (no package
  needed).
"""
from __future__ import annotations

from .layer_spec import is_layer_spec, load_layer_spec
from .onnx_export import export_onnx
from .onnx_import import SUPPORTED_OPS, load_onnx, save_onnx
from .safetensors_io import read_safetensors
from .state import bind_state, read_state
from .torch_state import read_torch_state, save_torch_state

__all__ = ["SUPPORTED_OPS", "bind_state", "export_onnx", "is_layer_spec", "load_layer_spec", "load_onnx", "read_safetensors",
           "read_state", "read_torch_state", "save_onnx", "save_torch_state"]
