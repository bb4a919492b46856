"""Importers: workflows spreadsheets and timing exports, read by DuckDB and checked in SQL."""
