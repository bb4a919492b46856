"""Small regressions on weekly means: statsmodels OLS with Newey-West (HAC) standard errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr

YEAR_DAYS = 365.2425


@dataclass(frozen=True, slots=True)
class Coef:
    value: float
    var: float
    dof: float

    @property
    def p_value(self) -> float:
        if not self.var > 0:
            return 0.0 if self.value else 1.0
        return float(2 * stdtr(self.dof, -abs(self.value) / np.sqrt(self.var)))


def newey_west_lags(weeks: int) -> int:
    """The usual automatic bandwidth, floor(4 (T/100)^(2/9)), at least one lag."""
    return max(1, int(4 * (weeks / 100) ** (2 / 9)))


def hac_fit(y: np.ndarray, x: np.ndarray, columns: tuple[int, ...]) -> list[Coef]:
    """OLS of ``y`` on ``x``; the chosen coefficients with HAC (Newey-West) variances, never below
    the classical OLS variance (with few weeks the HAC estimate is itself noisy and biased low),
    and the residual degrees of freedom."""
    # Imported on first fit: statsmodels takes about a second to import, and an upload or a
    # command whose workflows need no regression (no trend, no comparison) should not pay it.
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.sandwich_covariance import cov_hac

    result = OLS(y, x).fit()
    hac = np.diag(cov_hac(result, nlags=newey_west_lags(len(y))))
    classical = np.diag(result.cov_params())
    dof = max(float(result.df_resid), 1.0)
    return [Coef(float(result.params[c]), float(max(hac[c], classical[c])), dof) for c in columns]


def seasonal_terms(days: np.ndarray) -> np.ndarray:
    """Two yearly harmonics (sin, cos) of the calendar day: a smooth season, four parameters."""
    angle = 2 * np.pi * days / YEAR_DAYS
    return np.column_stack([np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


def slope(t: np.ndarray, y: np.ndarray) -> Coef | None:
    """Linear trend of ``y`` over ``t`` (weeks) with a HAC variance; None with under four points."""
    if len(y) < 4 or np.ptp(t) == 0:
        return None
    return hac_fit(y, np.column_stack([np.ones_like(t), t - t.mean()]), (1,))[0]
