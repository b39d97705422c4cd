"""Phase-domain pruning of photonic meshes and fine-tuning of the remaining phases *through* the mesh.

A mapped layer (:mod:`hwsim.photonic.mapping`) holds, per K x K tile, one row of heater phases (layout
in that module's docstring) and a gain g; the tile implements W_t = g Re(S_u M_U A S_v M_V), with MZIs
M(theta, phi) = B diag(e^{i theta}, 1) B diag(e^{i phi}, 1), B = [[1, i], [i, 1]]/sqrt(2) (Harris et al. 2014
convention, :mod:`hwsim.photonic.mesh`), ideal couplers, and the attenuator column A_ii = (e^{i theta_i} - 1)/2
folded with the V screen. Heater static power is P_pi (phi mod 2pi)/pi per phase, so a phase set to 0 is a
heater switched off ([CHAMP]-style phase pruning; Gu et al., "Towards hardware-efficient optical neural
networks: beyond FFT architecture via joint learnability", TCAD 2020, and the phase-pruning of CHAMP).

* :func:`tile_matrices` -- numpy forward of the tiles (checked against the back-end's numba kernel).
* :func:`phase_gradients` -- exact reverse-mode gradient of a loss w.r.t. every phase and gain, given
  dL/dW per tile: one backward sweep over the MZIs, undoing each unitary op with its adjoint (the
  non-unitary attenuator column is crossed by keeping the V-mesh product from the forward pass).
* :func:`phase_scores` / :func:`select_phases` -- criteria: ``magnitude`` (wrapped distance to 0),
  ``power`` (wrapped distance per unit of heater power saved: phases near 2pi are nearly free to zero and
  save the most), ``power_sq`` (squared wrapped distance per unit of power saved: a small phase error
  costs accuracy roughly quadratically, so near-0 and near-2pi heaters are both cheap, while the linear
  ``power`` ratio ranks near-0 phases with near-pi ones), ``sensitivity`` (first-order loss change
  |dL/dphi * dphi| per unit of power saved).
* :func:`finetune_phases` -- Adam on the unpruned phases and the tile gains with gradients through the
  meshes; pruned phases stay exactly 0 (heater off). Optionally with a heater-power regulariser
  (:func:`power_penalty`, ``power_reg``) that drives phases toward 0 while the network keeps its accuracy.
* :func:`gauge_optimize` -- free power: B = (U D)(D^* S V^H) for any diagonal unitary D, so a per-tile D
  chosen by coordinate search (``levels`` values per mode) re-programs the U mesh and the V screen at lower
  heater power with W unchanged (to machine precision).
* :func:`regularized_phase_pruning` -- CHAMP-style: train with the power regulariser, switch off every heater
  within a threshold of 0, repeat; then fine-tune the remaining phases without the regulariser.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..nn import Network, distillation_loss, softmax_cross_entropy
from ..photonic.phase_pruning import wrapped_magnitude as wrapped  # distance of a phase to 0 on the circle

TWO_PI = 2.0 * math.pi
PHASE_CRITERIA = ("magnitude", "power", "power_sq", "sensitivity")
POWER_REGULARIZERS = ("wrapped", "power")


def _layout(layer: Any) -> tuple[int, int, np.ndarray]:
    from hwsim.photonic import mesh_layout

    k = int(layer.tile)
    modes, _ = mesh_layout(k, layer.mesh)
    return k, k * (k - 1) // 2, np.asarray(modes)


def _mzi(theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    et, ep = np.exp(1j * theta), np.exp(1j * phi)
    return 0.5 * ep * (et - 1), 0.5j * (et + 1), 0.5j * ep * (et + 1), 0.5 * (1 - et)


def _apply_rows(X: np.ndarray, m: int, a, b, c, d) -> None:
    """X[:, m:m+2, :] <- [[a, b], [c, d]] @ X[:, m:m+2, :] with per-tile coefficients (T,)."""
    x0, x1 = X[:, m, :].copy(), X[:, m + 1, :]
    X[:, m, :] = a[:, None] * x0 + b[:, None] * x1
    X[:, m + 1, :] = c[:, None] * x0 + d[:, None] * x1


def _mesh_forward(X: np.ndarray, theta: np.ndarray, phi: np.ndarray, modes: np.ndarray) -> None:
    for k, m in enumerate(modes):
        a, b, c, d = _mzi(theta[:, k], phi[:, k])
        _apply_rows(X, int(m), a, b, c, d)


def _segments(layer: Any, phases: np.ndarray) -> dict[str, np.ndarray]:
    k, M, _ = _layout(layer)
    p = phases
    return {"v_theta": p[:, 0:M], "v_phi": p[:, M:2 * M], "v_screen": p[:, 2 * M:2 * M + k],
            "att": p[:, 2 * M + k:2 * M + 2 * k], "u_theta": p[:, 2 * M + 2 * k:3 * M + 2 * k],
            "u_phi": p[:, 3 * M + 2 * k:4 * M + 2 * k], "u_screen": p[:, 4 * M + 2 * k:4 * M + 3 * k]}


def _forward(layer: Any, phases: np.ndarray, gains: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W tiles real (T,K,K), Z complex (T,K,K) before gain/real part, V-mesh product (T,K,K))."""
    k, M, modes = _layout(layer)
    s = _segments(layer, phases)
    T = phases.shape[0]
    X = np.broadcast_to(np.eye(k, dtype=np.complex128), (T, k, k)).copy()
    _mesh_forward(X, s["v_theta"], s["v_phi"], modes)
    V = X.copy()
    D = np.exp(1j * s["v_screen"]) * 0.5 * (np.exp(1j * s["att"]) - 1)
    X *= D[:, :, None]
    _mesh_forward(X, s["u_theta"], s["u_phi"], modes)
    X *= np.exp(1j * s["u_screen"])[:, :, None]
    return gains[:, None, None] * X.real, X, V


def tile_matrices(layer: Any, phases: Optional[np.ndarray] = None, gains: Optional[np.ndarray] = None) -> np.ndarray:
    """Real (T, K, K) tile matrices of a photonic ``LayerMapping`` from ``phases`` (default: the layer's)."""
    ph = layer.phases if phases is None else np.asarray(phases, dtype=np.float64)
    g = layer.gains if gains is None else np.asarray(gains, dtype=np.float64)
    return _forward(layer, ph, g)[0]


def layer_matrix(layer: Any, phases: Optional[np.ndarray] = None, gains: Optional[np.ndarray] = None) -> np.ndarray:
    """The (out, in) matrix of a layer from its tiles (numpy twin of ``hwsim.photonic.layer_matrix``)."""
    k = int(layer.tile)
    tiles = tile_matrices(layer, phases, gains)
    gr, gc = layer.grid
    full = np.zeros((gr * k, gc * k))
    for t in range(tiles.shape[0]):
        r, c = int(layer.tile_rows[t]) * k, int(layer.tile_cols[t]) * k
        full[r:r + k, c:c + k] = tiles[t]
    return full[:layer.shape[0], :layer.shape[1]]


def _tile_grads_of_matrix(layer: Any, grad_w: np.ndarray) -> np.ndarray:
    k = int(layer.tile)
    gr, gc = layer.grid
    full = np.zeros((gr * k, gc * k))
    full[:layer.shape[0], :layer.shape[1]] = grad_w
    return np.stack([full[int(r) * k:(int(r) + 1) * k, int(c) * k:(int(c) + 1) * k]
                     for r, c in zip(layer.tile_rows, layer.tile_cols)]) if layer.tiles else np.zeros((0, k, k))


def phase_gradients(layer: Any, grad_w: np.ndarray, phases: Optional[np.ndarray] = None,
                    gains: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dphases (T, P), dL/dgains (T,)) of a layer given dL/dW (out, in), by one reverse sweep."""
    ph = layer.phases if phases is None else np.asarray(phases, dtype=np.float64)
    g = layer.gains if gains is None else np.asarray(gains, dtype=np.float64)
    if grad_w.shape != tuple(layer.shape):
        raise DataError(f"layer {layer.name!r}: gradient shape {grad_w.shape} != layer shape {tuple(layer.shape)}")
    k, M, modes = _layout(layer)
    G = _tile_grads_of_matrix(layer, np.asarray(grad_w, dtype=np.float64))
    _, Z, V = _forward(layer, ph, g)
    s = _segments(layer, ph)
    out = np.zeros_like(ph)
    o = _segments(layer, out)  # views into out
    ggain = np.einsum("tij,tij->t", G, Z.real)
    Y = (g[:, None, None] * G).astype(np.complex128)  # L^T (g G) with L = identity after the last op
    R = Z.copy()

    def block(a: int, b: int) -> np.ndarray:  # (Y R^T)_{ab} per tile
        return np.einsum("tj,tj->t", Y[:, a, :], R[:, b, :])

    # U screen: R <- S^-1 R, grad = Re(X_ii * i e^{i s})
    es = np.exp(1j * s["u_screen"])
    R *= np.conj(es)[:, :, None]
    o["u_screen"][:] = np.real(np.einsum("tij,tij->ti", Y, R) * 1j * es)
    Y *= es[:, :, None]  # S^T Y (diagonal)
    # U mesh, last MZI first
    _mesh_backward(Y, R, s["u_theta"], s["u_phi"], modes, o["u_theta"], o["u_phi"], block)
    # D column (V screen + attenuators): R is now D V; use the stored V instead of inverting D
    ev, ea = np.exp(1j * s["v_screen"]), np.exp(1j * s["att"])
    D = ev * 0.5 * (ea - 1)
    R = V.copy()
    xdiag = np.einsum("tij,tij->ti", Y, R)
    o["v_screen"][:] = np.real(xdiag * 1j * D)
    o["att"][:] = np.real(xdiag * ev * 0.5j * ea)
    Y *= D[:, :, None]
    _mesh_backward(Y, R, s["v_theta"], s["v_phi"], modes, o["v_theta"], o["v_phi"], block)
    return out, ggain


def _mesh_backward(Y, R, theta, phi, modes, g_theta, g_phi, block) -> None:
    for k in range(len(modes) - 1, -1, -1):
        m = int(modes[k])
        a, b, c, d = _mzi(theta[:, k], phi[:, k])
        # R <- M^H R (undo the op: R becomes the product before it)
        _apply_rows(R, m, np.conj(a), np.conj(c), np.conj(b), np.conj(d))
        x00, x01, x10, x11 = block(m, m), block(m, m + 1), block(m + 1, m), block(m + 1, m + 1)
        et, ep = np.exp(1j * theta[:, k]), np.exp(1j * phi[:, k])
        # dM/dtheta = (i/2) e^{i theta} [[e^{i phi}, i], [i e^{i phi}, -1]];  dM/dphi = [[i a, 0], [i c, 0]]
        dth = 0.5j * et * (x00 * ep + x01 * 1j + x10 * 1j * ep - x11)
        g_theta[:, k] = np.real(dth)
        g_phi[:, k] = np.real(1j * (x00 * a + x10 * c))
        # Y <- M^T Y
        _apply_rows(Y, m, a, c, b, d)


def power_units(phases: np.ndarray) -> np.ndarray:
    """Heater power of each phase in units of P_pi: (phi mod 2pi) / pi."""
    return np.mod(phases, TWO_PI) / math.pi


def power_penalty(phases: np.ndarray, kind: str = "wrapped") -> tuple[float, np.ndarray]:
    """(value, d value / d phase) of a heater-power penalty summed over ``phases``, in units of P_pi.

    ``power``: the exact static power (phi mod 2pi)/pi, gradient 1/pi (pushes every phase down, phases just
    below 2pi the long way round). ``wrapped``: the surrogate min(phi, 2pi - phi)/pi (distance to the nearest
    heater-off setting on the circle), gradient +1/pi below pi and -1/pi above, so phases near 2pi drift up
    to wrap to 0. Heaters already off (phase exactly 0) get gradient 0 (a subgradient).
    """
    if kind not in POWER_REGULARIZERS:
        raise ConfigError(f"unknown power regulariser {kind!r}; choose one of {', '.join(POWER_REGULARIZERS)}")
    p = np.mod(np.asarray(phases, dtype=np.float64), TWO_PI)
    on = p != 0.0
    if kind == "power":
        return float(p.sum() / math.pi), np.where(on, 1.0 / math.pi, 0.0)
    return float(np.minimum(p, TWO_PI - p).sum() / math.pi), np.where(on, np.where(p < math.pi, 1.0, -1.0), 0.0) / math.pi


def phase_scores(mapping: Any, criterion: str = "power", grads: Optional[Sequence[np.ndarray]] = None
                 ) -> list[np.ndarray]:
    """Per layer (T, P) scores, lower = prune first; heaters already off score +inf (nothing to prune).

    ``sensitivity`` needs ``grads`` (dL/dphase per layer, e.g. from :func:`network_phase_gradients`).
    """
    if criterion not in PHASE_CRITERIA:
        raise ConfigError(f"unknown phase criterion {criterion!r}; choose one of {', '.join(PHASE_CRITERIA)}")
    out = []
    for i, layer in enumerate(mapping.layers):
        ph = layer.phases
        pw = power_units(ph)
        if criterion == "magnitude":
            s = wrapped(ph)
        elif criterion == "power":
            s = wrapped(ph) / np.maximum(pw, 1e-300)
        elif criterion == "power_sq":
            s = wrapped(ph) ** 2 / np.maximum(pw, 1e-300)
        else:
            if grads is None:
                raise ConfigError("phase criterion 'sensitivity' needs grads= (dL/dphase per layer)")
            g = np.asarray(grads[i])
            if g.shape != ph.shape:
                raise DataError(f"layer {layer.name!r}: grads shape {g.shape} != phases shape {ph.shape}")
            delta = np.where(np.mod(ph, TWO_PI) <= math.pi, -np.mod(ph, TWO_PI), TWO_PI - np.mod(ph, TWO_PI))
            s = np.abs(g * delta) / np.maximum(pw, 1e-300)
        out.append(np.where(pw > 0, s, np.inf))
    return out


def select_phases(mapping: Any, fraction: float, criterion: str = "power",
                  grads: Optional[Sequence[np.ndarray]] = None) -> list[np.ndarray]:
    """Prune masks (True = prune, the convention of ``hwsim.photonic.prune_phases``) for the lowest-scoring
    ``fraction`` of the heaters that are on, ranked globally over all layers."""
    from .selection import check_sparsity

    f = check_sparsity(fraction, "phase fraction")
    scores = phase_scores(mapping, criterion, grads)
    flat = np.concatenate([s.ravel() for s in scores])
    live = np.isfinite(flat)
    n_prune = int(np.floor(f * live.sum() + 1e-9))
    chosen = np.zeros(flat.size, dtype=bool)
    if n_prune:
        order = np.argsort(np.where(live, flat, np.inf), kind="stable")[:n_prune]
        chosen[order] = True
    out, off = [], 0
    for s in scores:
        out.append(chosen[off:off + s.size].reshape(s.shape))
        off += s.size
    return out


def _network_for(mapping: Any) -> Network:
    net = mapping.network
    if not isinstance(net, Network):
        raise ConfigError("phase fine-tuning needs a mapping of a hwsim.nn.Network (map the network, not matrices)")
    if len(net.weighted_layers()) != len(mapping.layers):
        raise ConfigError("mapping and network disagree on the number of weighted layers")
    n = net.copy().astype(np.float64)
    for l in n.weighted_layers():
        l.set_mask(np.ones(l.weight.shape, dtype=bool))
    return n


def network_phase_gradients(mapping: Any, data: Any, batch_size: int = 1000, n_samples: int = 2000
                            ) -> list[np.ndarray]:
    """dL/dphase per layer (T, P) of the mean cross-entropy on ``data`` through the mapped meshes."""
    from .criteria import check_data

    net = _network_for(mapping)
    x, y = check_data(net, data, labels=True, n_samples=n_samples)
    for l, lm in zip(net.weighted_layers(), mapping.layers):
        l.weight = layer_matrix(lm)
    gw = [np.zeros(l.weight.shape) for l in net.weighted_layers()]
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size], train=True, validate=False)
        _, d = softmax_cross_entropy(logits, y[i:i + batch_size])
        net.backward(d)
        w = len(logits) / len(x)
        for a, l in zip(gw, net.weighted_layers()):
            a += w * l.grad_weight
    return [phase_gradients(lm, g)[0] for lm, g in zip(mapping.layers, gw)]


def finetune_phases(mapping: Any, train_data: Any, *, epochs: int = 1, lr: float = 2e-3, batch_size: int = 256,
                    seed: int | np.random.Generator = 0, train_gains: bool = True, train_biases: bool = True,
                    max_steps: Optional[int] = None, power_reg: float = 0.0, reg_kind: str = "wrapped",
                    teacher: Optional[Network] = None, kd_weight: float = 0.0, kd_temperature: float = 4.0) -> Any:
    """A new mapping whose unpruned phases (and tile gains, and the digital biases) are trained with Adam
    through the meshes.

    Phases that are 0 (heaters off, pruned) are frozen at exactly 0; trained phases are wrapped into
    [0, 2pi) after each step, so the heater power of the result is measured by ``hwsim.photonic.cost``.
    With ``train_biases`` the biases (added electronically after detection) are trained too; the mapping's
    network is then a copy carrying the new biases (the caller's network is not modified).
    ``power_reg`` (lambda >= 0): the loss is mean cross-entropy + lambda * :func:`power_penalty` (``reg_kind``)
    summed over every unpruned phase, so phases the data does not need drift toward 0 (heater off).
    ``teacher`` (e.g. the dense float network) with ``kd_weight`` w in (0, 1]: the loss is (1 - w) * cross-entropy
    + w * :func:`hwsim.nn.distillation_loss` against the teacher's logits at ``kd_temperature``.
    """
    from .criteria import check_data

    if int(epochs) < 0 or int(batch_size) < 1:
        raise ConfigError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if not (lr > 0 and np.isfinite(lr)):
        raise ConfigError(f"lr must be a positive finite number, got {lr}")
    if not (power_reg >= 0 and np.isfinite(power_reg)):
        raise ConfigError(f"power_reg must be a finite number >= 0, got {power_reg}")
    if reg_kind not in POWER_REGULARIZERS:
        raise ConfigError(f"unknown power regulariser {reg_kind!r}; choose one of {', '.join(POWER_REGULARIZERS)}")
    if not 0.0 <= kd_weight <= 1.0:
        raise ConfigError(f"kd_weight must lie in [0, 1], got {kd_weight}")
    if kd_weight > 0 and teacher is None:
        raise ConfigError("kd_weight > 0 needs a teacher network")
    if not (kd_temperature > 0 and np.isfinite(kd_temperature)):
        raise ConfigError(f"kd_temperature must be a positive finite number, got {kd_temperature}")
    net = _network_for(mapping)
    x, y = check_data(net, train_data, labels=True)
    if kd_weight > 0 and (tuple(teacher.input_shape) != tuple(net.input_shape)
                          or teacher.weighted_layers()[-1].bias.shape != net.weighted_layers()[-1].bias.shape):
        raise ConfigError(f"teacher input {teacher.input_shape} / outputs do not match the mapped network's "
                          f"{net.input_shape}")
    rng = np.random.default_rng(seed)
    phases = [lm.phases.copy() for lm in mapping.layers]
    gains = [lm.gains.copy() for lm in mapping.layers]
    free = [p != 0.0 for p in phases]
    state = [[np.zeros_like(p), np.zeros_like(p), np.zeros_like(g), np.zeros_like(g)] for p, g in zip(phases, gains)]
    bstate = [[np.zeros_like(l.bias), np.zeros_like(l.bias)] for l in net.weighted_layers()]
    b1, b2, eps = 0.9, 0.999, 1e-8
    t = 0
    steps_per_epoch = max(len(x) // batch_size, 1)
    total = int(epochs) * steps_per_epoch if max_steps is None else min(int(max_steps), int(epochs) * steps_per_epoch)
    layers = net.weighted_layers()
    while t < total:
        order = rng.permutation(len(x))
        for i in range(0, len(x) - batch_size + 1 if len(x) >= batch_size else 1, batch_size):
            if t >= total:
                break
            idx = order[i:i + batch_size]
            for l, lm, p, g in zip(layers, mapping.layers, phases, gains):
                l.weight = layer_matrix(lm, p, g)
            logits = net.forward(x[idx], train=True, validate=False)
            _, d = softmax_cross_entropy(logits, y[idx])
            if kd_weight > 0:
                _, dk = distillation_loss(logits, teacher.forward(x[idx], validate=False), kd_temperature)
                d = (1.0 - kd_weight) * d + kd_weight * dk
            net.backward(d)
            t += 1
            lr_t = lr * 0.5 * (1 + math.cos(math.pi * (t - 1) / total))
            for l, lm, p, g, fr, st in zip(layers, mapping.layers, phases, gains, free, state):
                gp, gg = phase_gradients(lm, l.grad_weight, p, g)
                if power_reg > 0:
                    gp = gp + power_reg * power_penalty(p, reg_kind)[1]
                gp = np.where(fr, gp, 0.0)
                for j, (param, grad) in enumerate(((p, gp), (g, gg))):
                    if j == 1 and not train_gains:
                        continue
                    mom, var = st[2 * j], st[2 * j + 1]
                    mom *= b1
                    mom += (1 - b1) * grad
                    var *= b2
                    var += (1 - b2) * grad * grad
                    param -= lr_t * (mom / (1 - b1 ** t)) / (np.sqrt(var / (1 - b2 ** t)) + eps)
                p[:] = np.where(fr, np.mod(p, TWO_PI), 0.0)
            if train_biases:
                for l, (mom, var) in zip(layers, bstate):
                    mom *= b1
                    mom += (1 - b1) * l.grad_bias
                    var *= b2
                    var += (1 - b2) * l.grad_bias * l.grad_bias
                    l.bias -= lr_t * (mom / (1 - b1 ** t)) / (np.sqrt(var / (1 - b2 ** t)) + eps)
    new_layers = tuple(dataclasses.replace(lm, phases=p, gains=g, reference_phases=lm.reference)
                       for lm, p, g in zip(mapping.layers, phases, gains))
    network = mapping.network
    if train_biases:
        network = mapping.network.copy()
        for dst, src in zip(network.weighted_layers(), layers):
            dst.bias = src.bias.astype(dst.bias.dtype)
    return dataclasses.replace(mapping, layers=new_layers, network=network)


def iterative_phase_pruning(mapping: Any, train_data: Any, *, fractions: Sequence[float] = (0.2, 0.2, 0.2),
                            criterion: str = "power", steps: int = 150, lr: float = 2e-3, batch_size: int = 256,
                            seed: int | np.random.Generator = 0, grad_samples: int = 2000,
                            callback: Any = None) -> list[Any]:
    """Alternate phase pruning and phase fine-tuning through the meshes; returns the mapping after each stage.

    Stage i switches off ``fractions[i]`` of the heaters still on (ranked by ``criterion``; sensitivity
    gradients are recomputed on ``grad_samples`` training samples at each stage), then trains the remaining
    phases and gains for ``steps`` minibatches. ``callback(stage, mapping)`` is called after each stage.
    """
    if criterion not in PHASE_CRITERIA:
        raise ConfigError(f"unknown phase criterion {criterion!r}; choose one of {', '.join(PHASE_CRITERIA)}")
    from hwsim.photonic import prune_phases

    rng = np.random.default_rng(seed)
    out = []
    m = mapping
    for i, f in enumerate(fractions):
        grads = network_phase_gradients(m, train_data, n_samples=grad_samples) if criterion == "sensitivity" else None
        m = prune_phases(m, select_phases(m, f, criterion, grads))
        m = finetune_phases(m, train_data, epochs=10**6, lr=lr, batch_size=batch_size, seed=rng, max_steps=steps)
        out.append(m)
        if callback is not None:
            callback(i, m)
    return out


def regularized_phase_pruning(mapping: Any, train_data: Any, *, power_reg: float, rounds: int = 3,
                              threshold: float = 0.1, steps: int = 200, lr: float = 5e-3, final_steps: int = 200,
                              final_lr: float = 2e-3, batch_size: int = 256, reg_kind: str = "wrapped",
                              seed: int | np.random.Generator = 0, callback: Any = None,
                              teacher: Optional[Network] = None, kd_weight: float = 0.0,
                              kd_temperature: float = 4.0, kd_in_rounds: bool = False) -> list[Any]:
    """Power-regularised training and threshold pruning of phases, CHAMP-style; returns the mapping after each
    round and, last, after the final fine-tuning.

    Each of ``rounds`` rounds trains the phases, gains and biases for ``steps`` minibatches with the heater-power
    regulariser (``power_reg``, ``reg_kind``, learning rate ``lr``), then switches off every heater within
    ``threshold`` rad of 0 on the circle (:func:`hwsim.photonic.prune_phases`). Finally the remaining phases
    are fine-tuned without the regulariser for ``final_steps`` at ``final_lr`` (0 to skip).
    ``callback(stage, mapping)`` is called after each round (stage 0 .. rounds-1) and after the final step.
    ``teacher``, ``kd_weight``, ``kd_temperature``: distillation (:func:`finetune_phases`) in the final
    fine-tuning, and in the rounds too with ``kd_in_rounds`` (measured on LeNet-300-100: distilling in the rounds
    fights the regulariser, 83 % instead of 88 % of the heater power saved after 6 rounds).
    """
    if int(rounds) < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    if not (0 <= threshold <= math.pi):
        raise ConfigError(f"threshold must lie in [0, pi] rad, got {threshold}")
    from hwsim.photonic import prune_phases

    kd = {"teacher": teacher, "kd_weight": kd_weight, "kd_temperature": kd_temperature}
    rng = np.random.default_rng(seed)
    out = []
    m = mapping
    for i in range(int(rounds)):
        m = finetune_phases(m, train_data, epochs=10**6, lr=lr, batch_size=batch_size, seed=rng, max_steps=steps,
                            power_reg=power_reg, reg_kind=reg_kind, **(kd if kd_in_rounds else {}))
        m = prune_phases(m, threshold=float(threshold))
        out.append(m)
        if callback is not None:
            callback(i, m)
    if final_steps:
        m = finetune_phases(m, train_data, epochs=10**6, lr=final_lr, batch_size=batch_size, seed=rng,
                            max_steps=final_steps, **kd)
        out.append(m)
        if callback is not None:
            callback(int(rounds), m)
    return out


def gauge_optimize(mapping: Any, levels: int = 8, sweeps: int = 2) -> Any:
    """A new mapping with the same matrices and lower (never higher) heater power, via the SVD gauge freedom.

    Per tile, U S V^H = (U D) S (D^* V^H) for D = diag(e^{i d}): the V screen (which sits right before the
    diagonal attenuator column) gets -d, and the U mesh is re-decomposed for U D. ``d`` is chosen per tile and
    mode by coordinate search over ``levels`` equally spaced values in [0, 2pi) (``levels = 2``: sign flips of
    (u_i, v_i) pairs), ``sweeps`` passes over the modes; a change is kept only when it lowers the tile's
    summed heater power. Heaters that are off may turn on (the U mesh is re-programmed) when that pays.
    """
    from hwsim.photonic import MeshPhases, decompose, reconstruct, wrap_phases
    from hwsim.photonic.mapping import phase_slices

    if int(levels) < 2 or int(sweeps) < 1:
        raise ConfigError(f"levels must be >= 2 and sweeps >= 1, got {levels}, {sweeps}")
    new_layers = []
    for lm in mapping.layers:
        if lm.tiles == 0:
            new_layers.append(lm)
            continue
        k = int(lm.tile)
        sl = phase_slices(k)
        ph0 = lm.phases
        U0 = reconstruct(MeshPhases(lm.mesh, k, ph0[:, sl["u_theta"]], ph0[:, sl["u_phi"]], ph0[:, sl["u_screen"]]))

        def program(d: np.ndarray) -> np.ndarray:
            mp = decompose(U0 * np.exp(1j * d)[:, None, :], lm.mesh)
            out = ph0.copy()
            out[:, sl["u_theta"]], out[:, sl["u_phi"]], out[:, sl["u_screen"]] = mp.theta, mp.phi, mp.screen
            out[:, sl["v_screen"]] = wrap_phases(ph0[:, sl["v_screen"]] - d)
            return out

        d = np.zeros((lm.tiles, k))
        best_ph = ph0.copy()
        best = power_units(ph0).sum(axis=1)
        grid = TWO_PI * np.arange(int(levels)) / int(levels)
        for _ in range(int(sweeps)):
            for i in range(k):
                for val in grid:
                    trial = d.copy()
                    trial[:, i] = val
                    ph = program(trial)
                    pw = power_units(ph).sum(axis=1)
                    better = pw < best * (1 - 1e-12)
                    if better.any():
                        d[better] = trial[better]
                        best[better] = pw[better]
                        best_ph[better] = ph[better]
        new_layers.append(dataclasses.replace(lm, phases=best_ph, reference_phases=lm.reference))
    return dataclasses.replace(mapping, layers=tuple(new_layers))
