"""Backend discovery of the accel package."""

import importlib.util

import pytest

import accel
from refloss import RefLossError


def test_numpy_is_always_available_and_last():
    assert accel.available_backends()[-1] == "numpy"
    assert accel.resolve_backend("numpy") == "numpy"


def test_auto_picks_the_first_available():
    assert accel.resolve_backend("auto") == accel.available_backends()[0]


def test_numba_follows_its_extra():
    has_numba = importlib.util.find_spec("numba") is not None
    assert ("numba" in accel.available_backends()) == has_numba


def test_unknown_backend():
    with pytest.raises(RefLossError, match="backend must be"):
        accel.resolve_backend("jax")


def test_missing_backend_names_the_extra(monkeypatch):
    monkeypatch.setattr(accel._dispatch, "_is_available", lambda name: name == "numpy")
    with pytest.raises(accel.MissingBackendError, match=r"refloss\[gpu\]"):
        accel.resolve_backend("cupy")
    with pytest.raises(accel.MissingBackendError, match=r"refloss\[accel\]"):
        accel.resolve_backend("numba")


@pytest.mark.gpu
@pytest.mark.skipif("cupy" not in accel.available_backends(), reason="needs CuPy and a CUDA device")
def test_cupy_backend_resolves_on_a_gpu():
    assert accel.resolve_backend("auto") == "cupy"
