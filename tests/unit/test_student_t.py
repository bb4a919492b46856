"""aiops.student_t.t_quantile against scipy's stdtrit, which the estimates use and it stands in for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import stdtrit

from aiops.student_t import ASYMPTOTIC_DOF, t_quantile

LEVELS = [0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9995]
DOFS = np.concatenate(
    [
        np.arange(1.0, 41.0),  # whole numbers, where Hill's start is exact (1, 2) or close
        np.geomspace(1.0, 1e6, 301),
        np.linspace(1.0, 3.0, 41),  # heavy tails, where Hill's start is furthest off
        np.linspace(ASYMPTOTIC_DOF * 0.9, ASYMPTOTIC_DOF * 1.1, 21),  # both sides of the switch
        [1.37, 2.5, 7.25, 12345.6, 1e9, 1e12],
    ]
)


@pytest.mark.parametrize("p", LEVELS)
def test_t_quantile_matches_scipy_to_1e_12_relative(p: float):
    expected = stdtrit(DOFS, p)
    got = t_quantile(p, DOFS)
    assert got.shape == DOFS.shape
    assert np.max(np.abs(got / expected - 1)) < 1e-12


def test_t_quantile_of_infinite_dof_is_the_normal_quantile_and_of_none_is_nan():
    got = t_quantile(0.975, [np.inf, 0.0, -1.0, np.nan])
    assert got[0] == pytest.approx(1.959963984540054, rel=1e-15)
    assert np.isnan(got[1:]).all()


def test_t_quantile_keeps_a_scalar_scalar_and_refuses_a_lower_tail():
    assert t_quantile(0.975, 10.0).shape == ()
    assert float(t_quantile(0.975, 10.0)) == pytest.approx(float(stdtrit(10.0, 0.975)), rel=1e-13)
    with pytest.raises(ValueError):
        t_quantile(0.4, 10.0)
