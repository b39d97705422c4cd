"""The training-time and second-order pruning methods of issue 14 behind one registry.

:data:`METHODS` maps a name to a :class:`Method` (its function, source, start point and hyperparameters);
:data:`HYPERPARAMETERS` declares every method hyperparameter once (name, type, unit/range, the methods it
applies to), so ``hwsim prune --method NAME`` builds its flags from it and refuses a flag that does not apply
to the chosen method. :func:`run_method` is the one entry point the CLI and experiments call::

    net, info = hp.run_method("rigl", net, train, sparsity=0.9, epochs=2, seed=0)

Methods (module -> source): ``grda`` (:mod:`.grda`, Chao et al. NeurIPS 2020), ``deep_r`` (:mod:`.deep_r`,
Bellec et al. ICLR 2018), ``l0`` (:mod:`.l0`, Louizos et al. ICLR 2018), ``obd`` / ``obs`` (:mod:`.obs`, LeCun
et al. 1989; Hassibi & Stork 1992, layer-wise as L-OBS), ``gsp`` / ``fpgrasp`` (:mod:`.gsp`, Bahmani et al. JMLR
2013), ``nest`` (:mod:`.nest`, Dai, Yin, Jha 2019), ``koopman_magnitude`` / ``koopman_gradient``
(:mod:`.koopman`, Redman et al. ICLR 2022), ``set`` / ``rigl`` (:mod:`.dst`, Mocanu et al. 2018; Evci et al.
ICML 2020).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from ..errors import ConfigError
from ..nn import Network
from . import deep_r, dst, grda, gsp, koopman, l0, nest, obs
from ._common import MethodResult, check_fraction, check_int, check_nonneg, check_positive


@dataclass(frozen=True)
class Hyper:
    """One method hyperparameter, declared once for Python and the command line."""

    name: str
    """Keyword in Python; the flag is ``--`` + name with '-' for '_'."""
    type: type
    help: str
    """Meaning, unit and allowed range."""
    default: Any
    """Value used when not given (cited in the method's module docstring)."""
    methods: tuple[str, ...]
    check: Callable[[Any], Any] = lambda v: v
    """Validates a value (:class:`ConfigError` naming it and the allowed range); the method checks again."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


HYPERPARAMETERS: tuple[Hyper, ...] = (
    Hyper("c", float, "gRDA initial sparsity control c > 0", grda.DEFAULT_C, ("grda",),
          lambda v: check_positive("c", v)),
    Hyper("mu", float, "gRDA threshold growth exponent, in (0.5, 1)", grda.DEFAULT_MU, ("grda",), grda.check_mu),
    Hyper("l1", float, "Deep R L1 coefficient alpha >= 0 (per step, times lr)", deep_r.DEFAULT_ALPHA, ("deep_r",),
          lambda v: check_nonneg("l1 (Deep R alpha)", v)),
    Hyper("temperature", float, "Deep R noise temperature T > 0 (noise std sqrt(2 lr T))",
          deep_r.DEFAULT_TEMPERATURE, ("deep_r",), lambda v: check_positive("temperature", v)),
    Hyper("lam", float, "L0 penalty lambda >= 0 on the expected number of non-zero gates, per training sample",
          1.0, ("l0",), lambda v: check_nonneg("lam (L0 penalty)", v)),
    Hyper("beta", float, "L0 hard-concrete temperature beta > 0", l0.BETA, ("l0",),
          lambda v: check_positive("beta (hard-concrete temperature)", v)),
    Hyper("droprate_init", float, "L0 initial gate drop rate, in (0, 1)", l0.DROPRATE_INIT, ("l0",),
          lambda v: check_fraction("droprate_init", v, lo_open=True, hi_open=True)),
    Hyper("gate_lr", float, "L0 Adam learning rate of the gates' log_alpha, > 0", 0.01, ("l0",),
          lambda v: check_positive("gate_lr", v)),
    Hyper("damp", float, "OBS Hessian damping, a fraction (> 0) of its mean diagonal", obs.DEFAULT_DAMP, ("obs",),
          lambda v: check_positive("damp", v)),
    Hyper("inner_steps", int, "GSP/FPGraSP minibatch steps per support update, >= 1", gsp.DEFAULT_INNER_STEPS,
          ("gsp", "fpgrasp"), lambda v: check_int("inner_steps", v, 1)),
    Hyper("seed_density", float, "NeST seed density, in (0, 1]", nest.DEFAULT_SEED_DENSITY, ("nest",),
          lambda v: check_fraction("seed_density", v, lo_open=True)),
    Hyper("growth_fraction", float, "NeST fraction of a layer grown per growth step, in [0, 1]",
          nest.DEFAULT_GROWTH_FRACTION, ("nest",), lambda v: check_fraction("growth_fraction", v)),
    Hyper("grow_share", float, "NeST share of the training steps spent growing, in (0, 1)", 0.5, ("nest",),
          lambda v: check_fraction("grow_share", v, lo_open=True, hi_open=True)),
    Hyper("prune_rounds", int, "NeST magnitude-pruning rounds, >= 1", 3, ("nest",),
          lambda v: check_int("prune_rounds", v, 1)),
    Hyper("snapshots", int, "Koopman weight snapshots, >= 3", koopman.DEFAULT_SNAPSHOTS,
          ("koopman_magnitude", "koopman_gradient"), lambda v: check_int("snapshots", v, 3)),
    Hyper("snapshot_every", int, "Koopman minibatches between snapshots, >= 1", koopman.DEFAULT_SNAPSHOT_EVERY,
          ("koopman_magnitude", "koopman_gradient"), lambda v: check_int("snapshot_every", v, 1)),
    Hyper("koopman_scope", str, "Koopman ranking: 'global' (one DMD over all weights, ranked across layers, as the "
          "paper's code) or 'layer' (one DMD and the target per layer)", "global",
          ("koopman_magnitude", "koopman_gradient"), lambda v: _one_of("koopman_scope", v, koopman.SCOPES)),
    Hyper("update_fraction", float, "SET/RigL initial drop-and-grow fraction alpha, in [0, 1]", dst.DEFAULT_ALPHA,
          ("set", "rigl"), lambda v: check_fraction("update_fraction", v)),
    Hyper("delta_t", int, "SET/RigL minibatches between mask updates, >= 1", dst.DEFAULT_DELTA_T, ("set", "rigl"),
          lambda v: check_int("delta_t", v, 1)),
    Hyper("t_end", float, "SET/RigL fraction of training with mask updates, in [0, 1]", dst.DEFAULT_T_END,
          ("set", "rigl"), lambda v: check_fraction("t_end", v)),
)
HYPER = {h.name: h for h in HYPERPARAMETERS}


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Method:
    """A registered pruning method."""

    name: str
    source: str
    start: str
    """"pretrained": starts from the given (trained) network; "init": sparse from a fresh random initialisation."""
    sets_sparsity: bool
    """True when the method reaches the requested sparsity; False when it emerges from a penalty (gRDA, L0)."""
    trains: bool
    """False for one-shot methods (OBD, OBS): they prune without training (``epochs`` does not apply)."""
    default_lr: float
    run: Callable[..., tuple[Network, MethodResult]]

    def hyperparameters(self) -> tuple[Hyper, ...]:
        return tuple(h for h in HYPERPARAMETERS if self.name in h.methods)


def _grda(net, data, *, sparsity, epochs, lr, batch_size, seed, c=grda.DEFAULT_C, mu=grda.DEFAULT_MU):
    return grda.grda_train(net, data, epochs=epochs, lr=lr, c=c, mu=mu, batch_size=batch_size, seed=seed)


def _deep_r(net, data, *, sparsity, epochs, lr, batch_size, seed, l1=deep_r.DEFAULT_ALPHA,
            temperature=deep_r.DEFAULT_TEMPERATURE):
    return deep_r.deep_r_train(net, data, sparsity=sparsity, epochs=epochs, lr=lr, alpha=l1, temperature=temperature,
                               batch_size=batch_size, seed=seed)


def _l0(net, data, *, sparsity, epochs, lr, batch_size, seed, lam=1.0, beta=l0.BETA, droprate_init=l0.DROPRATE_INIT,
        gate_lr=0.01):
    return l0.l0_train(net, data, lam=lam, epochs=epochs, lr=lr, beta=beta, droprate_init=droprate_init,
                       gate_lr=gate_lr, batch_size=batch_size, seed=seed)


def _obd(net, data, *, sparsity, epochs, lr, batch_size, seed):
    # OBD saliencies estimate loss increases, comparable across layers: ranked globally
    return obs.obd_prune(net, data, sparsity=sparsity, scope="global", n_samples=1000)


def _obs(net, data, *, sparsity, epochs, lr, batch_size, seed, damp=obs.DEFAULT_DAMP):
    return obs.obs_prune(net, data, sparsity=sparsity, damp=damp)


def _gsp(structure):
    def run(net, data, *, sparsity, epochs, lr, batch_size, seed, inner_steps=gsp.DEFAULT_INNER_STEPS):
        return gsp.gsp_train(net, data, sparsity=sparsity, structure=structure, epochs=epochs, lr=lr,
                             inner_steps=inner_steps, batch_size=batch_size, seed=seed)
    return run


def _nest(net, data, *, sparsity, epochs, lr, batch_size, seed, seed_density=nest.DEFAULT_SEED_DENSITY,
          growth_fraction=nest.DEFAULT_GROWTH_FRACTION, grow_share=0.5, prune_rounds=3):
    return nest.nest_train(net, data, sparsity=sparsity, epochs=epochs, lr=lr, seed_density=seed_density,
                           growth_fraction=growth_fraction, grow_share=grow_share, prune_rounds=prune_rounds,
                           batch_size=batch_size, seed=seed)


def _koopman(criterion):
    def run(net, data, *, sparsity, epochs, lr, batch_size, seed, snapshots=koopman.DEFAULT_SNAPSHOTS,
            snapshot_every=koopman.DEFAULT_SNAPSHOT_EVERY, koopman_scope="global"):
        return koopman.koopman_prune(net, data, sparsity=sparsity, criterion=criterion, epochs=epochs, lr=lr,
                                     snapshots=snapshots, snapshot_every=snapshot_every, batch_size=batch_size,
                                     seed=seed, scope=koopman_scope)
    return run


def _dst(regrowth):
    def run(net, data, *, sparsity, epochs, lr, batch_size, seed, update_fraction=dst.DEFAULT_ALPHA,
            delta_t=dst.DEFAULT_DELTA_T, t_end=dst.DEFAULT_T_END):
        return dst.dst_train(net, data, sparsity=sparsity, regrowth=regrowth, epochs=epochs, lr=lr,
                             alpha=update_fraction, delta_t=delta_t, t_end=t_end, batch_size=batch_size, seed=seed)
    return run


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("grda", "Chao et al., NeurIPS 2020, eq. 3-4", "pretrained", False, True, grda.DEFAULT_LR, _grda),
    Method("deep_r", "Bellec et al., ICLR 2018, Algorithm 1", "init", True, True, 1e-3, _deep_r),
    Method("l0", "Louizos et al., ICLR 2018, eq. 9-13", "pretrained", False, True, 1e-3, _l0),
    Method("obd", "LeCun et al., NeurIPS 1989, eq. 5-6", "pretrained", True, False, 1e-3, _obd),
    Method("obs", "Hassibi & Stork, NeurIPS 1992, eq. 4-5; layer-wise (Dong et al., NeurIPS 2017)", "pretrained",
           True, False, 1e-3, _obs),
    Method("gsp", "Bahmani et al., JMLR 2013, Algorithm 1", "pretrained", True, True, 1e-3, _gsp("unstructured")),
    Method("fpgrasp", "Bahmani et al., JMLR 2013, Algorithm 1 on filters", "pretrained", True, True, 1e-3,
           _gsp("filter")),
    Method("nest", "Dai, Yin, Jha, IEEE TC 2019, sec. 3", "init", True, True, 1e-3, _nest),
    Method("koopman_magnitude", "Redman et al., ICLR 2022, sec. 4", "pretrained", True, True, 1e-3,
           _koopman("magnitude")),
    Method("koopman_gradient", "Redman et al., ICLR 2022, sec. 4", "pretrained", True, True, 1e-3,
           _koopman("gradient")),
    Method("set", "Mocanu et al., Nat. Commun. 2018", "init", True, True, 1e-3, _dst("random")),
    Method("rigl", "Evci et al., ICML 2020, Algorithm 1", "init", True, True, 1e-3, _dst("gradient")),
)}


def check_hyper(method: str, hyper: dict[str, Any]) -> Method:
    """The :class:`Method` named ``method``; :class:`ConfigError` for an unknown name or a hyperparameter that does
    not apply to it (a hyperparameter that does not apply is refused, never ignored)."""
    if method not in METHODS:
        raise ConfigError(f"unknown pruning method {method!r}; choose one of {', '.join(METHODS)}")
    m = METHODS[method]
    own = {h.name for h in m.hyperparameters()}
    for k in hyper:
        if k not in HYPER:
            raise ConfigError(f"unknown hyperparameter {k!r}; known: {', '.join(HYPER)}")
        if k not in own:
            raise ConfigError(f"hyperparameter {k!r} does not apply to method {method!r} (it applies to "
                              f"{', '.join(HYPER[k].methods)})")
        HYPER[k].check(hyper[k])
    return m


def run_method(method: str, network: Network, train_data: Any, *, sparsity: float = 0.9, epochs: int = 1,
               lr: Optional[float] = None, batch_size: int = 128, seed: int | np.random.Generator = 0,
               **hyper: Any) -> tuple[Network, MethodResult]:
    """Run ``method`` on a copy of ``network`` with ``train_data`` = (x, y); returns (pruned network, record).

    ``sparsity``: target fraction of pruned weights per layer, for the methods with ``sets_sparsity``; gRDA and
    L0 do not take it (their sparsity follows from c, mu / lam) and the record reports what they reached.
    ``lr`` defaults to the method's own (:attr:`Method.default_lr`). Methods with ``start == "init"`` re-initialise
    the network's weights (He normal, seeded) before training.
    """
    m = check_hyper(method, hyper)
    net = network
    if m.start == "init":
        net = _reinitialised(network, seed)
    return m.run(net, train_data, sparsity=sparsity, epochs=epochs, lr=m.default_lr if lr is None else lr,
                 batch_size=batch_size, seed=seed, **hyper)


def _reinitialised(network: Network, seed: int | np.random.Generator) -> Network:
    """A copy with fresh He-normal weights, zero biases and no masks (seeded)."""
    rng = np.random.default_rng(seed)
    net = network.copy()
    for l in net.weighted_layers():
        l.mask = np.ones_like(l.mask)
        w = rng.standard_normal(l.weight.shape) * np.sqrt(2.0 / l.weight.shape[1])
        l.set_weight(w, np.zeros_like(l.bias))
    return net
