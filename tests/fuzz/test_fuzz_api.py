"""Fuzz family: the library's boundaries. Arbitrary matrices (dtypes, shapes, NaN, inf, subnormals, huge values,
MVM counts) mapped and costed on every back-end; pruning selection with arbitrary scores; accuracy with arbitrary
labels. Oracle: an HwsimError, or a result that is finite and right (the same Report for the same values in
another dtype, the sparsity honoured, the accuracy of the labels given)."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hostile
from hwsim import backend
from hwsim.errors import HwsimError
from hwsim.workload import MatrixLayer

SETTINGS = settings(max_examples=hostile.EXAMPLES, deadline=None, derandomize=hostile.EXAMPLES <= 50,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FLOATS = st.one_of(st.floats(-2.0, 2.0), st.just(0.0), st.just(0.0), st.sampled_from(
    [np.nan, np.inf, -np.inf, 5e-324, 1e-300, 1e-45, 3e38, 1e39, 1e300, np.finfo(np.float64).max]))
CONFIGS = {be.name: be.resolve_config(overrides={"mesh.tile": 4} if be.name == "photonic" else {"crossbar.rows": 16,
                                                                                                   "crossbar.cols": 16})
           for be in backend.backends() if be.name in ("reram", "photonic")}


@st.composite
def matrices(draw):
    shape = draw(st.tuples(st.integers(0, 24), st.integers(0, 24)))
    w = draw(hnp.arrays(np.float64, shape, elements=FLOATS))
    if draw(st.booleans()) and w.size:  # prune whole blocks: empty tiles next to full ones
        w[: draw(st.integers(0, shape[0])), : draw(st.integers(0, shape[1]))] = 0.0
    return w


def _finite(report) -> bool:
    return all(np.isfinite(v) for v in report.total.to_dict().values())


@SETTINGS
@given(matrices(), st.sampled_from(["reram", "photonic"]),
       st.sampled_from(["<f8", ">f8", "<f4", ">f4", "<f2", "g", "<i4"]),
       st.one_of(st.integers(-2, 3), st.just(2**40), st.floats(0.5, 3.0), st.just("2")))
def test_fuzz_matrices_on_every_backend(w, hardware, dtype, mvms):
    hostile.CASES["matrices x back-ends"] += 1
    be, cfg = backend.get(hardware), CONFIGS[hardware]
    with np.errstate(all="ignore"):
        wd = w.astype(dtype)
    try:
        report = be.cost(be.map([MatrixLayer("l", wd, mvms)], cfg))
    except HwsimError:
        return
    assert _finite(report)
    assert isinstance(mvms, int) and mvms >= 1
    if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 4:  # same values, native: the same Report
        native = wd.astype(np.dtype(dtype).newbyteorder("="))
        assert be.cost(be.map([MatrixLayer("l", native, mvms)], cfg)).total == report.total
    if not np.any(wd):
        assert report.total.tiles == 0


@SETTINGS
@given(st.lists(hnp.arrays(np.float64, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=FLOATS),
                min_size=1, max_size=3),
       st.one_of(st.floats(0.0, 0.99), st.sampled_from([-0.1, 1.0, 1.5, np.nan])),
       st.sampled_from(["layer", "global"]), st.sampled_from(["unstructured", "block"]))
def test_fuzz_select(scores, sparsity, scope, structure):
    from hwsim.prune import select

    hostile.CASES["select"] += 1
    kw = {"block": (2, 2)} if structure == "block" else {}
    try:
        masks = select(scores, sparsity, scope=scope, structure=structure, **kw)
    except HwsimError:
        return
    assert 0 <= sparsity < 1 and not any(np.isnan(s).any() for s in scores)
    total = sum(m.size for m in masks)
    pruned = sum(int((~m).sum()) for m in masks)
    assert all(m.any() for m in masks)  # never a collapsed layer
    if structure == "unstructured":
        target = [int(np.floor(sparsity * m.size + 1e-9)) for m in masks]
        if scope == "layer":  # the sparsity is honoured up to the one weight every layer keeps
            assert all(int((~m).sum()) == min(t, m.size - 1) for m, t in zip(masks, target))
        else:
            assert pruned <= int(np.floor(sparsity * total + 1e-9))
            assert pruned >= min(int(np.floor(sparsity * total + 1e-9)), total - len(masks))


@SETTINGS
@given(st.lists(st.integers(-3, 12), min_size=1, max_size=6), st.sampled_from([np.int64, np.uint8, np.float64,
                                                                               np.int8, np.bool_]))
def test_fuzz_accuracy_labels(labels, dtype):
    import models

    hostile.CASES["accuracy labels"] += 1
    y = np.array(labels).astype(dtype)
    net = models.get("lenet-300-100")
    x = np.random.default_rng(0).random((len(y), 1, 28, 28)).astype(np.float32)
    try:
        acc = net.accuracy(x, y)
    except HwsimError:
        return
    assert y.dtype.kind in "iu" and y.min() >= 0 and y.max() <= 9
    assert acc == np.mean(net.predict(x).argmax(axis=1) == y)
