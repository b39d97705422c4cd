"""``--sparsity`` on a trainable network in ``hwsim cost`` and ``hwsim evaluate``: one-shot global magnitude pruning of
the loaded weights (the shipped pretrained ones, or the ``--weights`` file's), no fine-tuning. For fine-tuned,
structured, hardware-aware or criterion-based pruning, ``hwsim prune`` writes a weights file to pass with
``--weights``."""
from __future__ import annotations

from typing import Any

#: What ``--sparsity`` does to a trainable network (printed, and stored as the JSON key ``pruning``).
METHOD = "one-shot global magnitude pruning, unstructured, no fine-tuning"
SPARSITY_HELP = ("fraction of weights pruned, in [0, 1). A trainable model (or an ONNX network): " + METHOD + " of "
                 "its weights (for fine-tuned or structured pruning run 'hwsim prune' and pass its file with --weights)."
                 " A shape-only model: the sparsity of its synthetic weights (default 0)")


def trainable(net: Any) -> bool:
    """Whether ``net`` is a network with weights that pruning and evaluation act on (not a list of bare matrices)."""
    return hasattr(net, "weighted_layers") and hasattr(net, "set_masks")


def prune(net: Any, sparsity: float) -> tuple[Any, dict[str, Any]]:
    """(``net`` pruned to ``sparsity`` by :data:`METHOD`, the ``pruning`` record for ``--json``)."""
    from .. import prune as hp
    from ..nn.im2col import supports

    s = hp.check_sparsity(sparsity, "--sparsity")
    before = float(net.sparsity())
    out = net
    if s > 0:
        out = net.copy()
        out.set_masks(hp.select(hp.score(out, None, "magnitude"), s, scope="global", structure="unstructured",
                                support=supports(out)))
    return out, {"method": "magnitude", "scope": "global", "structure": "unstructured", "finetune_epochs": 0,
                 "requested_sparsity": s, "sparsity_before": before, "sparsity": float(out.sparsity()),
                 "description": METHOD}


def describe(record: dict[str, Any]) -> str:
    """One line for the text output."""
    return (f"pruned: {record['description']} to {record['sparsity'] * 100:.2f}% weight sparsity "
            f"(requested {record['requested_sparsity'] * 100:g}%; 'hwsim prune' fine-tunes)")
