"""Saved Loops: the AI operating model as software (the domain; no UI code lives here)."""

__version__ = "0.1.0"
