"""SVD gauge optimisation: same matrices, never more heater power."""
import math

import numpy as np
import pytest

from hwsim import photonic
from hwsim.errors import ConfigError
from hwsim.photonic import MeshConfig, PhotonicConfig, gauge_optimize, power_units

CFG = PhotonicConfig(mesh=MeshConfig(tile=4))


@pytest.mark.parametrize("levels", [2, 8])
def test_gauge_optimize_keeps_w_and_never_raises_power(levels):
    rng = np.random.default_rng(4)
    m = photonic.map([rng.standard_normal((8, 12)), rng.standard_normal((5, 8))], CFG)
    g = gauge_optimize(m, levels=levels, sweeps=1)
    for a, b in zip(m.layers, g.layers):
        np.testing.assert_allclose(photonic.layer_matrix(b), photonic.layer_matrix(a), atol=1e-12, rtol=0)
        pa = power_units(a.phases).sum(axis=1)
        pb = power_units(b.phases).sum(axis=1)
        assert np.all(pb <= pa + 1e-12)
        assert np.all((b.phases >= 0) & (b.phases < 2 * math.pi))
    assert photonic.cost(g).total.static_power_w < photonic.cost(m).total.static_power_w


def test_gauge_optimize_bad_levels():
    m = photonic.map([np.eye(4)], CFG)
    with pytest.raises(ConfigError, match="levels"):
        gauge_optimize(m, levels=1)
