"""ADC range calibration: set each layer's ADC full scale from the crossbar reads a workload actually produces.

A b-bit ADC whose full scale covers the largest *possible* read (every row driven at the top digit, every cell at
the top level) wastes most of its codes: real reads use a small part of that range, and with 4-5 bits the LSB is
then larger than most reads. Simulators calibrate it: DNN+NeuroSim's accuracy model (``Inference_pytorch``,
``wage_quantizer.LinearQuantizeOut``) sets the range of every ADC call to the min..max of the partial sums of that
call. :func:`calibrate_adc` does the hardware-realistic version: a fixed per-layer full scale, chosen once from
calibration inputs (use training images, not the test set) on the programmed chip, then used for every read; the
LSB stays a power of two (a shifted reference), reads above the full scale clip.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import DataError, MappingError
from .mapping import ReramMapping
from .run import LayerEngine, _checked_batch, _rng, quantize_inputs


def _max_read(engine: LayerEngine, xq: np.ndarray, percentile: float) -> float:
    """Largest (or ``percentile``-th) crossbar read, in level units, of the unsigned integer inputs ``xq``: the
    maximum over crossbar groups and input cycles of that group's and cycle's percentile of the column reads."""
    cfg = engine.cfg
    db = cfg.precision.dac_bits
    dmask = (1 << db) - 1
    out = 0.0
    for rows, G, _, _ in engine.blocks:
        xs = xq[:, rows]
        for t in range(cfg.cycles_per_mvm):
            P = ((xs >> (db * t)) & dmask).astype(np.float32) @ G
            if P.size:
                out = max(out, float(P.max() if percentile >= 100.0 else np.percentile(P, percentile)))
    return out


def _calibration_inputs(what: str, mapping: Any, x: Any) -> tuple[Any, np.ndarray, list]:
    """(network, inputs as an array, its weighted layers) of a calibration call, or one clear error."""
    if not isinstance(mapping, ReramMapping):
        raise MappingError(f"{what} needs a ReramMapping, got {type(mapping).__name__}")
    net = mapping.network
    if net is None:
        raise MappingError(f"{what} needs a mapping of a hwsim.nn.Network (map the network itself)")
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"calibration inputs must be a non-empty batch, got shape {x.shape}")
    layers = net.weighted_layers()
    if len(layers) != len(mapping.layers):
        raise MappingError(f"the network has {len(layers)} weighted layers but the mapping {len(mapping.layers)}")
    return net, x, layers


def calibrate_adc(mapping: ReramMapping, x: np.ndarray, *, seed: Any = None, percentile: float = 100.0,
                  batch_size: int = 256) -> ReramMapping:
    """A copy of ``mapping`` whose layers' ADC full scale (``LayerMapping.adc_full_scale``, level units) is the
    ``percentile`` of the crossbar reads observed while the network runs on the calibration inputs ``x``.

    Reads are those of the chip ``run(..., seed=seed)`` programs (same variation and fault samples: calibrate and
    evaluate with the same seed); each layer sees the float network's activations (positive and negative input
    parts, quantized as in ``run``). ``percentile`` in (0, 100]: 100 takes the largest read (no clipping on the
    calibration data); lower values clip the rare largest reads for a finer LSB.
    """
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0.0 < percentile <= 100.0:
        raise DataError(f"percentile must lie in (0, 100], got {percentile!r}")
    net, x, layers = _calibration_inputs("calibrate_adc", mapping, x)
    rngs = _rng(seed).spawn(len(layers))
    engines = [LayerEngine(l.effective_weight(), lm, mapping.config, r, bit_serial=True)
               for l, lm, r in zip(layers, mapping.layers, rngs)]
    weights = [l.effective_weight().astype(np.float64) for l in layers]
    peak = [0.0] * len(layers)

    def hook(i: int, cols: np.ndarray) -> np.ndarray:
        c = np.asarray(cols, dtype=np.float64)
        for part in (np.maximum(c, 0.0), np.maximum(-c, 0.0)):
            if part.any():
                xq = quantize_inputs(part, mapping.config.precision.input_bits)[0]
                peak[i] = max(peak[i], _max_read(engines[i], xq, float(percentile)))
        return (c @ weights[i].T).astype(cols.dtype if np.asarray(cols).dtype.kind == "f" else np.float32)

    net.predict(x, matmul=hook, batch_size=_checked_batch(batch_size))
    layers_out = tuple(dataclasses.replace(lm, adc_full_scale=max(1.0, p)) for lm, p in zip(mapping.layers, peak))
    return dataclasses.replace(mapping, layers=layers_out)


def _ou_rows_per_block(cfg: Any, q: np.ndarray) -> tuple[np.ndarray, int]:
    """Nonzero OUs per row block of a quantized layer (its OU grid) and the total."""
    from .mapping import ou_grid

    per_rb = ou_grid(q, cfg)[0].sum(axis=1).astype(np.float64)
    return per_rb, int(per_rb.sum())


def calibrate_ou_activity(mapping: ReramMapping, x: np.ndarray, *, batch_size: int = 256) -> ReramMapping:
    """A copy of ``mapping`` whose 'ou' layers carry the OU activity measured on the inputs ``x``
    (``LayerMapping.ou_activity``): the OU reads SRE's zero-input skipping performs (an OU is read in an input
    cycle only when one of its rows carries a nonzero digit) per nonzero OU, input cycle and MVM. Inputs are those
    the float network feeds each layer, quantized as ``run`` quantizes them (split into positive and negative
    parts, each read separately when present: a layer with signed inputs can measure above 1). Needs
    ``mapping.ou_skip_zero_inputs``; layers in other modes keep 1.0. Use training images, not the test set."""
    net, x, layers = _calibration_inputs("calibrate_ou_activity", mapping, x)
    cfg = mapping.config
    if not cfg.mapping.ou_skip_zero_inputs:
        raise MappingError("calibrate_ou_activity needs mapping.ou_skip_zero_inputs = true (the skipping it measures)")
    from .mapping import quantize_matrix

    weights = [l.effective_weight().astype(np.float64) for l in layers]
    grids = [(_ou_rows_per_block(cfg, quantize_matrix(w, cfg)[0]) if lm.mode == "ou" else None)
             for w, lm in zip(weights, mapping.layers)]
    our, db, cycles = cfg.mapping.ou_rows, cfg.precision.dac_bits, cfg.cycles_per_mvm
    dmask = (1 << db) - 1
    reads, mvms = [0.0] * len(layers), [0] * len(layers)

    def hook(i: int, cols: np.ndarray) -> np.ndarray:
        c = np.asarray(cols, dtype=np.float64)
        if grids[i] is not None:
            per_rb, _ = grids[i]
            n_rb = per_rb.shape[0]
            mvms[i] += c.shape[0]
            parts = (np.maximum(c, 0.0), np.maximum(-c, 0.0)) if np.any(c < 0) else (c,)
            for part in parts:
                xq = quantize_inputs(part, cfg.precision.input_bits)[0]  # run's quantization
                pad = np.zeros((xq.shape[0], n_rb * our), dtype=np.int64)
                pad[:, :xq.shape[1]] = xq
                for t in range(cycles):
                    live = (((pad >> (db * t)) & dmask) != 0).reshape(xq.shape[0], n_rb, our).any(axis=2)
                    reads[i] += float((live @ per_rb).sum())
        return (c @ weights[i].T).astype(cols.dtype if np.asarray(cols).dtype.kind == "f" else np.float32)

    net.predict(x, matmul=hook, batch_size=_checked_batch(batch_size))
    out = []
    for lm, g, r, n in zip(mapping.layers, grids, reads, mvms):
        if g is None or g[1] == 0 or n == 0:
            out.append(lm)
        else:
            out.append(dataclasses.replace(lm, ou_activity=r / (g[1] * cycles * n)))
    return dataclasses.replace(mapping, layers=tuple(out))
