"""Collection rules for the doctest run over the packages (pytest --doctest-modules)."""

import importlib.util

# The CuPy backend's module imports CuPy at the top; without it there is nothing to collect (its tests are
# tests/test_accel_gpu.py, which skip cleanly).
collect_ignore = [] if importlib.util.find_spec("cupy") else ["accel/_cupy_kernels.py"]
