"""This period against the previous one — per week when this one is not complete ("to date").

Both periods' savings share baseline samples, so the change is a difference of point estimates;
the two intervals are shown side by side (scaled per week when the comparison is per week).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiops.views.totals import Totals


@dataclass(frozen=True)
class Comparison:
    name: str  # the previous period's name
    current: Totals
    previous: Totals
    per_week: bool  # the current period is not complete: compare hours per week of data
    current_weeks: float
    previous_weeks: float

    def _scale(self, totals: Totals, weeks: float) -> float:
        return 1.0 / weeks if self.per_week and weeks > 0 else 1.0

    @property
    def unit(self) -> str:
        return "h/week" if self.per_week else "h"

    @property
    def current_hours(self) -> float:
        return self.current.hours_returned * self._scale(self.current, self.current_weeks)

    @property
    def previous_hours(self) -> float:
        return self.previous.hours_returned * self._scale(self.previous, self.previous_weeks)

    @property
    def hours_change(self) -> float:
        return self.current_hours - self.previous_hours

    @property
    def hours_change_text(self) -> str:
        decimals = 1 if self.per_week else 0
        text = f"{self.hours_change:+,.{decimals}f} {self.unit}"
        base = self.previous_hours
        return f"{text} ({self.hours_change / base:+.0%})" if base > 0 else text

    @property
    def intervals_overlap(self) -> bool:
        c, p = self.current, self.previous
        cs, ps = self._scale(c, self.current_weeks), self._scale(p, self.previous_weeks)
        return c.hours_returned_low * cs <= p.hours_returned_high * ps and (
            p.hours_returned_low * ps <= c.hours_returned_high * cs
        )

    @property
    def basis(self) -> str:
        """How the two were compared, in words."""
        if self.per_week:
            return (
                f"per week: {self.current_weeks:.1f} weeks of data to date against "
                f"{self.previous_weeks:.1f} weeks of {self.name}"
            )
        return f"whole period against the whole of {self.name}"
