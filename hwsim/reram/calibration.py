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
from .run import LayerEngine, _checked_batch, _rng


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


def calibrate_adc(mapping: ReramMapping, x: np.ndarray, *, seed: Any = None, percentile: float = 100.0,
                  batch_size: int = 256) -> ReramMapping:
    """A copy of ``mapping`` whose layers' ADC full scale (``LayerMapping.adc_full_scale``, level units) is the
    ``percentile`` of the crossbar reads observed while the network runs on the calibration inputs ``x``.

    Reads are those of the chip ``run(..., seed=seed)`` programs (same variation and fault samples: calibrate and
    evaluate with the same seed); each layer sees the float network's activations (positive and negative input
    parts, quantized as in ``run``). ``percentile`` in (0, 100]: 100 takes the largest read (no clipping on the
    calibration data); lower values clip the rare largest reads for a finer LSB.
    """
    if not isinstance(mapping, ReramMapping):
        raise MappingError(f"calibrate_adc needs a ReramMapping, got {type(mapping).__name__}")
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0.0 < percentile <= 100.0:
        raise DataError(f"percentile must lie in (0, 100], got {percentile!r}")
    net = mapping.network
    if net is None:
        raise MappingError("calibrate_adc needs a mapping of a hwsim.nn.Network (map the network itself)")
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"calibration inputs must be a non-empty batch, got shape {x.shape}")
    layers = net.weighted_layers()
    if len(layers) != len(mapping.layers):
        raise MappingError(f"the network has {len(layers)} weighted layers but the mapping {len(mapping.layers)}")
    rngs = _rng(seed).spawn(len(layers))
    engines = [LayerEngine(l.effective_weight(), lm, mapping.config, r, bit_serial=True)
               for l, lm, r in zip(layers, mapping.layers, rngs)]
    weights = [l.effective_weight().astype(np.float64) for l in layers]
    peak = [0.0] * len(layers)

    def hook(i: int, cols: np.ndarray) -> np.ndarray:
        c = np.asarray(cols, dtype=np.float64)
        for part in (np.maximum(c, 0.0), np.maximum(-c, 0.0)):
            if part.any():
                xq, _ = engines[i]._quantize_inputs(part)
                peak[i] = max(peak[i], _max_read(engines[i], xq, float(percentile)))
        return (c @ weights[i].T).astype(cols.dtype if np.asarray(cols).dtype.kind == "f" else np.float32)

    net.predict(x, matmul=hook, batch_size=_checked_batch(batch_size))
    layers_out = tuple(dataclasses.replace(lm, adc_full_scale=max(1.0, p)) for lm, p in zip(mapping.layers, peak))
    return dataclasses.replace(mapping, layers=layers_out)
