"""Student's t quantiles for the intervals the read path prints, without scipy.

Importing ``scipy.special`` costs a company summary about 0.15 s (its array-API layer loads much of
numpy); the summary needs nothing from it but ``stdtrit``. ``t_quantile`` matches it to about 1e-12
relative (tests/unit/test_student_t.py pins it against scipy over levels and degrees of freedom):

- up to ``ASYMPTOTIC_DOF`` degrees of freedom: Hill's approximation (G. W. Hill, "Algorithm 396:
  Student's t-quantiles", CACM 13(10), 1970), then Halley steps on the exact upper tail
  ``0.5 * I_x(dof/2, 1/2)``, ``x = dof / (dof + t^2)`` (the regularized incomplete beta by its
  continued fraction, Numerical Recipes 6.4);
- beyond: the Cornish-Fisher expansion of t around the normal quantile to 1/dof^5 (Abramowitz and
  Stegun 26.7.5 and the next term, E. A. Cornish and R. A. Fisher, Technometrics 2(2), 1960), whose
  next term is below 1e-13 there.

The estimates themselves (``aiops.estimates``) keep using scipy: this is only for reading them.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TypeVar

import numpy as np
import numpy.typing as npt

ASYMPTOTIC_DOF = 300.0
_MAX_HALLEY_STEPS = 4  # Hill's start is within 6% (1 < dof < 2) to 1e-6; each step triples the digits
_SERIES_FROM = 20.0  # a in log(Gamma(a + 1/2) / Gamma(a)): its series beyond, two lgammas below
_MAX_TERMS = 400  # of the continued fraction; below ASYMPTOTIC_DOF it converges in far fewer
_TINY = 1e-300

F = TypeVar("F", float, npt.NDArray[np.float64])


def t_quantile(p: float, dof: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with ``dof`` degrees of freedom (any positive
    real, or inf: the normal quantile), elementwise; as ``scipy.special.stdtrit(dof, p)``."""
    if not 0.5 < p < 1:
        raise ValueError(f"t_quantile needs 0.5 < p < 1, not {p}")
    dof = np.asarray(dof, dtype=float)
    z = NormalDist().inv_cdf(p)
    out = np.full(dof.shape, np.nan)
    large = dof >= ASYMPTOTIC_DOF
    out[large] = _cornish_fisher(z, dof[large])
    small = (dof > 0) & ~large
    out[small] = _refined(1 - p, z, dof[small])
    return out


def _cornish_fisher(z: float, dof: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Abramowitz and Stegun 26.7.5, and its next term (Fisher and Cornish 1960); inf degrees of
    freedom: ``z``."""
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    g5 = (((((27 * z2 + 339) * z2 + 930) * z2 - 1782) * z2 - 765) * z2 + 17955) * z / 368640
    inv = 1 / dof
    return z + inv * (g1 + inv * (g2 + inv * (g3 + inv * (g4 + inv * g5))))


def _refined(q: float, z: float, dof: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Halley's iteration on ``upper_tail(t) = q`` from Hill's start, once per distinct ``dof``."""
    dof, where = np.unique(dof, return_inverse=True)
    t = _hill(2 * q, z, dof)
    log_norm = _log_beta_half(dof / 2) + 0.5 * np.log(dof)  # of the density
    for _ in range(_MAX_HALLEY_STEPS):
        density = np.exp(-log_norm - (dof + 1) / 2 * np.log1p(t * t / dof))
        u = (_upper_tail(t, dof) - q) / density  # the Newton step
        t = t + u / (1 - u * t * (dof + 1) / (2 * (dof + t * t)))
        if np.all(np.abs(u) <= 1e-13 * t):  # Halley: the error left is of the order of u cubed
            break
    return np.asarray(t[where].reshape(where.shape))


def _hill(two_tail: float, z: float, dof: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Hill (1970), Algorithm 396, for a two-tailed probability; ``z``: the normal quantile of
    ``1 - two_tail / 2``. Exact for 1 and 2 degrees of freedom."""
    n = dof
    half_pi = math.pi / 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = 1 / (n - 0.5)
        b = 48 / (a * a)
        c = ((20700 * a / b - 98) * a - 16) * a + 96.36
        d = ((94.5 / (b + c) - 3) / b + 1) * np.sqrt(a * half_pi) * n
        y = (d * two_tail) ** (2 / n)
        # The body of the distribution: the expansion around the (lower-tail) normal quantile.
        x = -z
        c_body = c + np.where(n < 5, 0.3 * (n - 4.5) * (x + 0.6), 0.0)
        c_body = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c_body
        yb = (((((0.4 * x * x + 6.3) * x * x + 36) * x * x + 94.5) / c_body - x * x - 3) / b + 1) * x
        body = np.expm1(a * yb * yb)
        # The far tail.
        tail = ((1 / (((n + 6) / (n * y) - 0.089 * d - 0.822) * (n + 2) * 3) + 0.5 / (n + 4)) * y - 1) * (
            n + 1
        ) / (n + 2) + 1 / y
        t = np.sqrt(n * np.where(y > 0.05 + a, body, tail))
    t = np.where(n == 1, 1 / math.tan(two_tail * half_pi), t)
    return np.where(n == 2, np.sqrt(2 / (two_tail * (2 - two_tail)) - 2), t)


def _log_beta_half(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log B(a, 1/2) = lgamma(1/2) - log(Gamma(a + 1/2) / Gamma(a)); the ratio by its asymptotic
    series for large ``a``, where the difference of two large lgammas would lose digits."""
    ratio = np.empty(a.shape)
    small = a < _SERIES_FROM
    lgamma = np.vectorize(math.lgamma, otypes=[float])
    ratio[small] = lgamma(a[small] + 0.5) - lgamma(a[small])
    big = a[~small]
    inv2 = 1 / (big * big)
    ratio[~small] = (
        0.5 * np.log(big) - (1 / 8 - inv2 * (1 / 192 - inv2 * (1 / 640 - inv2 * 17 / 14336))) / big
    )
    return np.asarray(math.lgamma(0.5) - ratio)


def _upper_tail(t: npt.NDArray[np.float64], dof: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """P(T > t) for t >= 0: ``0.5 * I_x(dof/2, 1/2)`` with ``x = dof / (dof + t^2)``."""
    a, t2 = dof / 2, t * t
    x, one_minus_x = dof / (dof + t2), t2 / (dof + t2)
    # The fraction converges fast for x < (a + 1) / (a + 5/2); beyond, I_x(a, b) = 1 - I_{1-x}(b, a).
    direct = x * (a + 2.5) < a + 1
    front = np.exp(a * np.log(x) + 0.5 * np.log(one_minus_x) - _log_beta_half(a))
    fraction = _beta_fraction(
        np.where(direct, a, 0.5), np.where(direct, 0.5, a), np.where(direct, x, one_minus_x)
    )
    beta = np.where(direct, front * fraction / a, 1 - front * fraction / 0.5)
    return np.asarray(0.5 * beta)


def _beta_fraction(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], x: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The continued fraction of the incomplete beta, elementwise. One value (a total's interval)
    runs on Python floats: on a one-element array numpy's cost per operation would dominate."""
    if x.size == 1:
        return np.full(x.shape, _lentz(a.item(), b.item(), x.item()))
    return _lentz(a, b, x)


def _lentz(a: F, b: F, x: F) -> F:
    """The fraction by the modified Lentz method (Numerical Recipes 6.4, betacf)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c = 1 + 0 * x
    d = 1 / _nonzero(1 - qab * x / qap)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 / _nonzero(1 + aa * d)
        c = _nonzero(1 + aa / c)
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 / _nonzero(1 + aa * d)
        c = _nonzero(1 + aa / c)
        step = d * c
        h = h * step
        if np.all(abs(step - 1) < 1e-15):
            break
    return h


def _nonzero(v: F) -> F:
    """``v``, or a tiny number where it is zero (Lentz's guard against dividing by zero)."""
    if isinstance(v, float):
        return v if abs(v) >= _TINY else _TINY
    return np.where(np.abs(v) < _TINY, _TINY, v)
