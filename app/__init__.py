"""Hotline Console core: domain, storage, services, search. No Qt in here (a test enforces it)."""

__version__ = "0.1.0"
