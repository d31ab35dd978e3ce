"""Helpers shared by the tests and the benchmarks: a real server process, waiting, report polling.

Tests import them as `from support.<module> import ...` (pytest puts `tests/` on the path);
the benchmarks put `tests/` on `sys.path` once, in their entry point, and import the same way.
"""
