"""Linewatch: a desktop workbench for plant engineers (live feeds, recordings, fault models)."""

__version__ = "0.1.0"
