"""Reports: the KPI summary, CSV/JSON exports and the board pack."""
