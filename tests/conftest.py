"""Shared test setup.

MPLBACKEND is removed before any notebook kernel starts: with ``Agg`` forced
from the environment, inline figures vanish from the notebooks' outputs.
"""
import os

os.environ.pop("MPLBACKEND", None)
