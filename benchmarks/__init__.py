"""Benchmarks: our engine against its peers (scikit-learn, esda), timed in one run.

Run each as a module from the repository root, e.g. ``python -m benchmarks.kde --quick``.
These are not tests: they print figures and never assert wall-clock times.
"""
