"""Small regressions on weekly means: statsmodels OLS with Newey-West (HAC) standard errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

YEAR_DAYS = 365.2425


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate (or a sum of estimates) with the bounds of its interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Coef:
    """An estimate with its variance and degrees of freedom (t-distributed)."""

    value: float
    var: float
    dof: float

    @property
    def p_value(self) -> float:
        # scipy.special is imported where an estimate is computed: reading kept ones needs none of it.
        from scipy.special import stdtr

        if not self.var > 0:
            return 0.0 if self.value else 1.0
        return float(2 * stdtr(self.dof, -abs(self.value) / np.sqrt(self.var)))

    def conf_int(self, level: float) -> Interval:
        """The two-sided ``level`` interval (NaN bounds without a variance)."""
        from scipy.special import stdtrit  # see p_value

        if not self.var >= 0:
            return Interval(value=self.value, low=float("nan"), high=float("nan"))
        half = float(stdtrit(self.dof, 0.5 + level / 2)) * float(np.sqrt(self.var))
        return Interval(value=self.value, low=self.value - half, high=self.value + half)

    def __neg__(self) -> Coef:
        return Coef(value=-self.value, var=self.var, dof=self.dof)


def difference(a: Coef, b: Coef) -> Coef:
    """``a - b`` for independent estimates (Welch-Satterthwaite degrees of freedom)."""
    var = a.var + b.var
    parts = a.var**2 / max(a.dof, 1.0) + b.var**2 / max(b.dof, 1.0)
    dof = var**2 / parts if parts > 0 else max(a.dof, b.dof)
    return Coef(value=a.value - b.value, var=var, dof=dof)


@dataclass(frozen=True, slots=True)
class Fit:
    """An OLS fit with its covariance matrices: a contrast's variance is the largest of them
    (classical; Newey-West; an AR(1) sandwich whose autocorrelation comes from the residuals, which
    also covers a model whose after weeks each have their own effect and so no residual)."""

    params: np.ndarray
    covariances: tuple[np.ndarray, ...]
    dof: float

    def contrast(self, weights: np.ndarray | list[float]) -> Coef:
        w = np.zeros(len(self.params))
        w[: len(weights)] = weights
        var = max(float(w @ cov @ w) for cov in self.covariances)
        return Coef(value=float(w @ self.params), var=var, dof=self.dof)

    def coef(self, column: int) -> Coef:
        w = np.zeros(len(self.params))
        w[column] = 1.0
        return self.contrast(w)


def newey_west_lags(weeks: int) -> int:
    """The usual automatic bandwidth, floor(4 (T/100)^(2/9)), at least one lag."""
    return max(1, int(4 * (weeks / 100) ** (2 / 9)))


def residual_autocorrelation(residual: np.ndarray, day: np.ndarray, dof: float) -> float:
    """Lag-one-week autocorrelation of the residuals (rows in time order; pairs of rows a week
    apart), with the usual small-sample correction (1 + 3 rho) / n; in [0, 0.95]."""
    lag = np.diff(day) == 7
    denominator = float(residual @ residual)
    if not lag.any() or denominator <= 0:
        return 0.0
    rho = float(residual[:-1][lag] @ residual[1:][lag]) / denominator
    n = max(dof, 1.0)
    return float(np.clip(rho + (1 + 3 * rho) / n, 0.0, 0.95))


def ar1_covariance(
    x: np.ndarray, day: np.ndarray, rho: float, sigma2: float, bread: np.ndarray
) -> np.ndarray:
    """(X'X)^-1 X' Omega X (X'X)^-1 sigma^2 with Omega_ij = rho^(|day_i - day_j| / 7)."""
    weeks = np.abs(day[:, None] - day[None, :]) / 7.0
    omega = rho**weeks
    return bread @ x.T @ omega @ x @ bread * sigma2


def ols_hac(y: np.ndarray, x: np.ndarray, day: np.ndarray) -> Fit:
    """OLS of ``y`` on ``x`` (rows in time order, ``day`` each row's week) with its covariances."""
    # Imported on first fit: statsmodels takes about a second to import, and an upload or a
    # command whose workflows need no regression (no trend, no comparison) should not pay it.
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.sandwich_covariance import cov_hac

    result = OLS(y, x).fit()
    dof = max(float(result.df_resid), 1.0)
    classical = np.asarray(result.cov_params())
    hac = np.asarray(cov_hac(result, nlags=newey_west_lags(len(y))))
    residual = np.asarray(result.resid)
    rho = residual_autocorrelation(residual, day, dof)
    bread = np.asarray(result.normalized_cov_params)
    ar1 = ar1_covariance(x, day, rho, float(residual @ residual) / dof, bread)
    return Fit(params=np.asarray(result.params), covariances=(classical, hac, ar1), dof=dof)


def seasonal_terms(days: np.ndarray) -> np.ndarray:
    """Two yearly harmonics (sin, cos) of the calendar day: a smooth season, four parameters."""
    angle = 2 * np.pi * days / YEAR_DAYS
    return np.column_stack([np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


def slope(t: np.ndarray, y: np.ndarray) -> Coef | None:
    """Linear trend of ``y`` over ``t`` (weeks) with a HAC variance; None with under four points."""
    if len(y) < 4 or np.ptp(t) == 0:
        return None
    return ols_hac(y, np.column_stack([np.ones_like(t), t - t.mean()]), t * 7.0).coef(1)
