"""How each workflow's saving is measured (its design) and what could be wrong with it (warnings).

- ``cells``: SQL (DuckDB) turns timing rows into cells (workflow, phase, week, AI flag, segment),
  after the censoring restriction and the outlier fence;
- ``phases`` / ``weekly``: phase statistics and weekly means from cells (numpy and pandas;
  sums over cells stay pandas' groupby: its order of addition, and so the last bits, depends on
  the whole grouping);
- ``concurrent``, ``designs`` (trend_adjusted, comparison), ``phases.welch`` (before_after): the designs;
- ``checks``: the warnings; ``choose``: the strongest design the data supports, per workflow.
"""

from aiops.estimates.cells import load_cells
from aiops.estimates.choose import estimate
from aiops.estimates.codes import (
    BLOCKING_WARNINGS,
    DESIGN_HELP,
    DESIGNS,
    GATE_DESIGNS,
    WARNING_HELP,
    WARNINGS,
    design_method,
)

__all__ = [
    "BLOCKING_WARNINGS",
    "DESIGN_HELP",
    "DESIGNS",
    "GATE_DESIGNS",
    "WARNING_HELP",
    "WARNINGS",
    "design_method",
    "estimate",
    "load_cells",
]
