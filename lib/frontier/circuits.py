"""Helpers for PennyLane circuits traced into JAX, shared by the modules that use them."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable


def quiet_qnode(fn: Callable) -> Callable:
    """`fn` (a QNode with the jax interface) without two warnings it raises on every trace:
    PennyLane casts to complex128, which JAX without x64 truncates with a UserWarning, and
    calls `jax.core.is_concrete`, which JAX deprecates. Other warnings pass through."""

    @functools.wraps(fn)
    def wrapped(*args):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*requested in astype is not available")
            warnings.filterwarnings("ignore", message=".*jax.core.is_concrete is deprecated")
            return fn(*args)

    return wrapped
