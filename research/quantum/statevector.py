"""A pure-JAX statevector simulator for the module's circuits, and the memory guard.

The state of `n` qubits is a complex64 array of shape `[2] * n` (wire 0 is the most
significant bit, as in PennyLane). Gates act by `tensordot` on one axis, so circuits jit,
vmap and differentiate like any JAX function, with no host callback. The templates below
follow PennyLane's definitions (AngleEmbedding, AmplitudeEmbedding, BasisEmbedding,
StronglyEntanglingLayers, Rot); `tests/research/quantum` checks that both give the same
numbers.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

COMPLEX = jnp.complex64


class TooLargeError(ValueError):
    """A simulation would not fit in memory; the message gives the estimate."""


def available_memory_bytes() -> int:
    """Free memory of the device the simulation runs on, in bytes.

    On an accelerator that is the first device's free memory (`memory_stats()`: its
    `bytes_limit` minus `bytes_in_use`), not the host's: a GPU's memory is usually the
    smaller. On CPU (whose devices report no limit) it is MemAvailable from /proc/meminfo,
    or the total physical memory where that is missing.
    """
    device = jax.local_devices()[0]
    if device.platform != "cpu":
        try:
            stats = device.memory_stats() or {}
        except Exception:  # some backends do not implement memory statistics
            stats = {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gb(x: float) -> str:
    return f"{x / 2**30:.2f} GB"


def check_statevector_memory(
    num_qubits: int, batch: int = 1, copies: int = 8, limit_bytes: int | None = None
) -> int:
    """Raise TooLargeError if `batch` states of `num_qubits` (complex64) would not fit.

    `copies` counts the live buffers of a differentiated circuit (forward states kept for the
    backward pass). Returns the estimate in bytes.
    """
    if num_qubits < 1:
        raise ValueError(f"a circuit needs at least 1 qubit, got {num_qubits}")
    need = batch * (2**num_qubits) * 8 * copies
    limit = available_memory_bytes() if limit_bytes is None else limit_bytes
    if need > limit:
        raise TooLargeError(
            f"{batch} statevector(s) of {num_qubits} qubits need about {_gb(need)} "
            f"(2^{num_qubits} complex64 amplitudes x {copies} work copies x batch {batch}), "
            f"more than the {_gb(limit)} available: use fewer qubits or a smaller batch"
        )
    return need


def check_density_memory(num_qubits: int, copies: int = 8, limit_bytes: int | None = None) -> int:
    """Raise TooLargeError if dense 2^n x 2^n float64 matrices for `num_qubits` would not fit.

    Exact diagonalisation keeps about `copies` such matrices alive (H, eigenvectors, the
    divided-difference matrix, exp(-H) and the gradient's temporaries). Returns bytes.
    """
    if num_qubits < 1:
        raise ValueError(f"a Boltzmann machine needs at least 1 unit, got {num_qubits}")
    need = (4**num_qubits) * 8 * copies
    limit = available_memory_bytes() if limit_bytes is None else limit_bytes
    if need > limit:
        dim = 2**num_qubits
        raise TooLargeError(
            f"exact diagonalisation of {num_qubits} qubits needs {copies} dense {dim}x{dim} "
            f"float64 matrices, about {_gb(need)}, more than the {_gb(limit)} available: use "
            "fewer units (each one costs 4x memory and about 8x time)"
        )
    return need


# ---------------------------------------------------------------- gates (2x2 matrices)


def rx(theta: jax.Array) -> jax.Array:
    c, s = jnp.cos(theta / 2), jnp.sin(theta / 2)
    return jnp.array([[c, -1j * s], [-1j * s, c]], dtype=COMPLEX)


def ry(theta: jax.Array) -> jax.Array:
    c, s = jnp.cos(theta / 2), jnp.sin(theta / 2)
    return jnp.array([[c, -s], [s, c]], dtype=COMPLEX)


def rz(theta: jax.Array) -> jax.Array:
    e = jnp.exp(-0.5j * theta)
    return jnp.array([[e, 0.0], [0.0, jnp.conj(e)]], dtype=COMPLEX)


def rot(phi: jax.Array, theta: jax.Array, omega: jax.Array) -> jax.Array:
    """PennyLane's Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)."""
    return rz(omega) @ ry(theta) @ rz(phi)


HADAMARD = jnp.array([[1.0, 1.0], [1.0, -1.0]], dtype=COMPLEX) / np.sqrt(2.0)
PAULI_X = jnp.array([[0.0, 1.0], [1.0, 0.0]], dtype=COMPLEX)
PAULIS = jnp.array(
    [[[0.0, 1.0], [1.0, 0.0]], [[0.0, -1j], [1j, 0.0]], [[1.0, 0.0], [0.0, -1.0]]], dtype=COMPLEX
)  # X, Y, Z


def pauli_rotation(theta: jax.Array, axis: jax.Array) -> jax.Array:
    """exp(-i theta P / 2) for P = (X, Y, Z)[axis]: rx, ry or rz chosen by a traced index."""
    return jnp.cos(theta / 2) * jnp.eye(2, dtype=COMPLEX) - 1j * jnp.sin(theta / 2) * PAULIS[axis]


# ---------------------------------------------------------------- states and application


def zero_state(num_qubits: int) -> jax.Array:
    """|0...0> as a `[2] * num_qubits` complex64 array."""
    return jnp.zeros((2,) * num_qubits, COMPLEX).at[(0,) * num_qubits].set(1.0)


def apply_1q(state: jax.Array, gate: jax.Array, wire: int) -> jax.Array:
    """Apply a `[2, 2]` gate to `wire` of `state [2]*n`."""
    out = jnp.tensordot(gate, state, axes=[[1], [wire]])
    return jnp.moveaxis(out, 0, wire)


def apply_controlled(state: jax.Array, gate: jax.Array, control: int, target: int) -> jax.Array:
    """Apply `gate [2, 2]` to `target` where `control` is 1."""
    s = jnp.moveaxis(state, control, 0)
    t = target if target < control else target - 1  # axis of target once control is removed
    s = jnp.stack([s[0], apply_1q(s[1], gate, t)])
    return jnp.moveaxis(s, 0, control)


def cnot(state: jax.Array, control: int, target: int) -> jax.Array:
    return apply_controlled(state, PAULI_X, control, target)


def cz(state: jax.Array, a: int, b: int) -> jax.Array:
    return apply_controlled(state, jnp.diag(jnp.array([1.0, -1.0], COMPLEX)), a, b)


def expval_z(state: jax.Array, wire: int) -> jax.Array:
    """<Z_wire> of a normalised state."""
    p = jnp.abs(jnp.moveaxis(state, wire, 0)) ** 2
    return jnp.sum(p[0]) - jnp.sum(p[1])


def expval_zz(state: jax.Array, a: int, b: int) -> jax.Array:
    """<Z_a Z_b> of a normalised state."""
    p = jnp.abs(jnp.moveaxis(state, (a, b), (0, 1))) ** 2
    return jnp.sum(p[0, 0]) + jnp.sum(p[1, 1]) - jnp.sum(p[0, 1]) - jnp.sum(p[1, 0])


# ---------------------------------------------------------------- templates (PennyLane's)


def angle_embedding(state: jax.Array, features: jax.Array, rotation: str = "X") -> jax.Array:
    """R_rotation(features[i]) on wire i; `features [n]`."""
    gate = {"X": rx, "Y": ry, "Z": rz}[rotation]
    for i in range(features.shape[0]):
        state = apply_1q(state, gate(features[i]), i)
    return state


def amplitude_state(features: jax.Array, num_qubits: int) -> jax.Array:
    """The normalised state with amplitudes `features [2**n]` (AmplitudeEmbedding)."""
    x = features.astype(jnp.float32)
    x = x / jnp.linalg.norm(x)
    return x.astype(COMPLEX).reshape((2,) * num_qubits)


def basis_state(bits: jax.Array, num_qubits: int) -> jax.Array:
    """|b_0 ... b_{n-1}> for `bits [n]` in {0, 1} (BasisEmbedding)."""
    weights = 2 ** jnp.arange(num_qubits - 1, -1, -1)
    index = jnp.sum(bits.astype(jnp.int32) * weights)
    return jax.nn.one_hot(index, 2**num_qubits, dtype=COMPLEX).reshape((2,) * num_qubits)


def strongly_entangling_layers(state: jax.Array, weights: jax.Array) -> jax.Array:
    """PennyLane's StronglyEntanglingLayers; `weights [layers, n, 3]`.

    Layer l: Rot(*weights[l, i]) on every wire i, then CNOT(i, (i + r) mod n) for every i
    with range r = l mod (n - 1) + 1.
    """
    layers, n, _ = weights.shape
    for layer in range(layers):
        for i in range(n):
            state = apply_1q(state, rot(*weights[layer, i]), i)
        if n > 1:
            r = layer % (n - 1) + 1
            for i in range(n):
                state = cnot(state, i, (i + r) % n)
    return state


def ring_layers(state: jax.Array, weights: jax.Array) -> jax.Array:
    """The parity demo's layers: Rot on every wire, then a CNOT ring; `weights [layers, n, 3]`."""
    layers, n, _ = weights.shape
    for layer in range(layers):
        for i in range(n):
            state = apply_1q(state, rot(*weights[layer, i]), i)
        if n > 1:
            for i in range(n):
                state = cnot(state, i, (i + 1) % n)
    return state
