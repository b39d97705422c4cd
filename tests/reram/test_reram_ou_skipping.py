"""'ou' mode with SRE's zero-input skipping: the analytic OU activity, the measured one, and their costs, by hand."""
from dataclasses import replace

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.errors import ConfigError, MappingError
from hwsim.reram.config import SystemConfig
from hwsim.reram.mapping import OU_READ_KEYS
from test_reram_mapping import tiny
from test_reram_run import one_weight_net


def _cfg(skip=True, density=0.5):
    """tiny(): 4x4 crossbars, 3-bit weights (2 magnitude slices, differential: 4 columns per weight), 2-bit inputs
    fed 1 bit per cycle; OUs of 2 rows x 4 columns."""
    cfg = tiny("ou", rows=4, cols=4, ou_rows=2, ou_cols=4, ou_skip_zero_inputs=skip)
    return replace(cfg, system=SystemConfig(input_digit_density=density))


@pytest.mark.parametrize("density, activity", [(0.5, 1 - 0.5 ** 2), (0.1, 1 - 0.9 ** 2), (1.0, 1.0)])
def test_analytic_activity_scales_reads_and_time_not_array_energy(density, activity):
    """One output, 4 inputs, every weight nonzero: 2 OUs of 2 rows, each read when one of its 2 digits is nonzero:
    probability 1 - (1 - d)^2."""
    w = [np.array([[3.0, 1.0, 2.0, 3.0]])]
    on, off = rr.map(w, _cfg(True, density)).layers[0], rr.map(w, _cfg(False)).layers[0]
    assert off.ou_activity == 1.0 and on.ou_activity == pytest.approx(activity)
    assert on.counts == off.counts  # raw counts are the mapper's; skipping applies in effective_counts
    eff = on.effective_counts()
    for k in OU_READ_KEYS:
        assert eff[k] == pytest.approx(off.counts[k] * activity)
    assert eff["cells_driven"] == off.counts["cells_driven"] and eff["levels_driven"] == off.counts["levels_driven"]
    assert on.mvm_latency_s == pytest.approx(off.mvm_latency_s * activity)
    r_on, r_off = rr.cost(rr.map(w, _cfg(True, density))), rr.cost(rr.map(w, _cfg(False)))
    b_on, b_off = r_on.layers[0].breakdown, r_off.layers[0].breakdown
    assert b_on["adc"].energy_j == pytest.approx(b_off["adc"].energy_j * activity)
    assert b_on["array"].energy_j == pytest.approx(b_off["array"].energy_j)
    assert r_on.chip.pipeline_interval_s == pytest.approx(r_off.chip.pipeline_interval_s * activity)


def test_measured_activity_by_hand():
    """4 inputs, 2 OUs of 2 rows. x_q = [3, 3, 0, 0] (2-bit): OU 0 live in both cycles, OU 1 never: activity 1/2.
    x_q = [0, 0, 3, 0]: OU 1 only: 1/2. x_q = [3, 0, 2, 0]: OU 0 in both cycles, OU 1 in cycle 1 (bit 1): 3/4.
    (run's per-vector quantization maps each vector's largest input to 3.)"""
    net = one_weight_net([3.0, 1.0, 2.0, 3.0])
    m = rr.map(net, _cfg())
    for x, act in (([1.0, 1.0, 0.0, 0.0], 0.5), ([0.0, 0.0, 1.0, 0.0], 0.5), ([1.0, 0.0, 2 / 3, 0.0], 0.75)):
        got = rr.calibrate_ou_activity(m, np.array([x], dtype=np.float32)).layers[0].ou_activity
        assert got == pytest.approx(act), x
    both = rr.calibrate_ou_activity(m, np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 2 / 3, 0.0]], dtype=np.float32))
    assert both.layers[0].ou_activity == pytest.approx((0.5 + 0.75) / 2)
    unskipped = rr.cost(rr.map(net, _cfg(skip=False))).layers[0]
    assert rr.cost(both).layers[0].latency_s == pytest.approx(unskipped.latency_s * 0.625)
    assert rr.cost(both).layers[0].breakdown["adc"].energy_j == pytest.approx(
        unskipped.breakdown["adc"].energy_j * 0.625)


def test_bad_skipping_inputs_are_clear_errors():
    net = one_weight_net([3.0, 1.0, 2.0, 3.0])
    with pytest.raises(MappingError, match="ou_skip_zero_inputs"):
        rr.calibrate_ou_activity(rr.map(net, _cfg(skip=False)), np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ConfigError, match="input_digit_density"):
        SystemConfig(input_digit_density=1.5)
    with pytest.raises(ConfigError, match="ou_skip_zero_inputs"):
        rr.resolve_config("default", overrides={"mapping.ou_skip_zero_inputs": 1})
