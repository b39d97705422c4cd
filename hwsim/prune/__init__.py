"""Pruning front-end: criteria -> scores -> masks -> schedules, and hardware-aware pruning.

Quick use::

    import models, hwsim.prune as hp
    net = models.get("lenet-300-100", pretrained=True)
    train = models.fashion_mnist.load("train")
    pruned = hp.one_shot(net, train, criterion="magnitude", sparsity=0.9, finetune_epochs=3)
    hp.save(pruned, "lenet-90.npz")            # hwsim cost --weights lenet-90.npz ...

Scores: :func:`score` (criteria in :data:`CRITERIA`, higher = keep). Masks: :func:`select` (per layer or
global; unstructured, neurons/filters, inputs, blocks, crossbar tiles/rows/columns, N:M).
Schedules: :func:`prune`, :func:`one_shot`, :func:`gradual`, :func:`iterative_magnitude`.
Hardware-aware: :func:`optimize` (a Report metric under an accuracy floor or a budget). Training-time and
second-order methods (gRDA, Deep R, L0, OBD/OBS, GSP/FPGraSP, NeST, Koopman, SET/RigL): :func:`run_method` over
:data:`METHODS` (:mod:`hwsim.prune.methods`). Photonic phase
pruning and fine-tuning through the meshes: :mod:`hwsim.prune.photonic_phases`.
"""
from __future__ import annotations

from .hardware_aware import (METRICS, Candidate, HardwareAwareResult, hardware_unit, lagrangian_hull, metric_of,
                             optimize, sort_hidden_neurons)
from .criteria import CRITERIA, activations, check_data, gradients, hessian_gradient_product, score
from .io import apply_masks, load, load_masks, save
from .schedules import PruneStep, finetune, gradual, iterative_magnitude, one_shot, prune, zhu_gupta_sparsity
from .selection import SCOPES, STRUCTURES, check_masks, check_sparsity, select, sparsity_of
from ._common import MethodResult
from .methods import HYPERPARAMETERS, METHODS, run_method

__all__ = ["METRICS", "Candidate", "HardwareAwareResult", "hardware_unit", "lagrangian_hull", "metric_of", "optimize",
           "sort_hidden_neurons", "CRITERIA", "SCOPES", "STRUCTURES", "activations", "apply_masks", "check_data", "check_masks",
           "check_sparsity", "finetune", "gradients", "gradual", "hessian_gradient_product", "iterative_magnitude",
           "load", "load_masks", "one_shot", "prune", "PruneStep", "save", "score", "select", "sparsity_of",
           "zhu_gupta_sparsity", "HYPERPARAMETERS", "METHODS", "MethodResult", "run_method"]

