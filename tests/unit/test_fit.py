"""The numpy OLS + Newey-West fit gives statsmodels' numbers (statsmodels is the reference here only)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.sandwich_covariance import cov_hac

from aiops.estimates.fit import hac_fit, newey_west_lags


@pytest.mark.parametrize(("weeks", "seed"), [(6, 1), (13, 2), (26, 3), (52, 4), (120, 5)])
def test_hac_fit_matches_statsmodels(weeks, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(weeks, dtype=float)
    post = (t >= weeks // 2).astype(float)
    x = np.column_stack([np.ones(weeks), t - t.mean(), post, post * (t - t.mean())])
    y = 30 - 0.2 * t - 5 * post + np.cumsum(rng.normal(0, 1, weeks))  # autocorrelated noise
    result = OLS(y, x).fit()
    hac = np.diag(cov_hac(result, nlags=newey_west_lags(weeks)))
    classical = np.diag(result.cov_params())
    ours = hac_fit(y, x, (0, 1, 2, 3))
    for c, coef in enumerate(ours):
        assert coef.value == pytest.approx(result.params[c], rel=1e-9, abs=1e-9)
        assert coef.var == pytest.approx(max(hac[c], classical[c]), rel=1e-9)
        assert coef.dof == pytest.approx(max(result.df_resid, 1.0))
    assert min(c.var for c in ours) > 0
