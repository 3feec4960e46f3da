"""DownConv and attention suites (placeholder until chapter 3 lands)."""
from __future__ import annotations
DOWNCONV_IMPLS = {}
ATTENTION_IMPLS = {}
def planned_attention_repetitions(config): return 0
def run_downconv_suite(config, tick): return None
def run_attention_suite(config, tick): return None
