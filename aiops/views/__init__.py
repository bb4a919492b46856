"""The read model: one frozen view per (period, revision) that every page and report renders."""

from aiops.views.build import View, build_view, data_bounds, view_for
from aiops.views.company import CompanySettings, load_company, save_company
from aiops.views.compare import Comparison
from aiops.views.totals import Totals

__all__ = [
    "CompanySettings",
    "Comparison",
    "Totals",
    "View",
    "build_view",
    "data_bounds",
    "load_company",
    "save_company",
    "view_for",
]
