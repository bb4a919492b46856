"""Numbers a person types (loaded hourly costs, AI costs, limits) are checked where they enter the
domain: finite and within a range. TOML and the float parser accept ``nan``, ``inf`` and ``1e308``;
stored unchecked, they crashed summaries, showed "inf USD" or silently dropped a department's value.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

MAX_HOURLY_COST = 100_000.0
MAX_AI_MONTHLY_COST = 1e9


def is_amount(value: object, low: float, high: float) -> bool:
    """Whether ``value`` is a real number (not a bool, nan or infinite) from ``low`` to ``high``."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def checked_amount(value: float, low: float, high: float, what: str) -> float:
    """``value`` when it is an amount in range, else an error that says what is wrong with it."""
    if not is_amount(value, low, high):
        reason = "a finite number" if isinstance(value, float) and not math.isfinite(value) else "in range"
        raise PydanticCustomError(
            "amount",
            "{what} must be {reason}: a number from {low} to {high}, not {value}",
            {"what": what, "reason": reason, "low": f"{low:,g}", "high": f"{high:,g}", "value": f"{value!r}"},
        )
    return float(value)


def _amount(low: float, high: float, what: str) -> AfterValidator:
    return AfterValidator(lambda value: checked_amount(value, low, high, what))


HourlyCost = Annotated[float, _amount(0, MAX_HOURLY_COST, "a loaded hourly cost")]
AiMonthlyCost = Annotated[float, _amount(0, MAX_AI_MONTHLY_COST, "an AI monthly cost")]
