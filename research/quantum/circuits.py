"""The circuit library: each circuit as a PennyLane QNode (JAX interface) or a pure-JAX function.

`make_circuit(kind, num_qubits, backend=..., device=..., ...)` returns `fn(weights, x) ->
scalar` for one example; callers `jax.vmap` it over a batch and `jax.jit` the step.

- backend "pennylane": a `qml.qnode(dev, interface="jax")` on the configured device
  (default.qubit, lightning.qubit, ...). On default.qubit with `diff_method="best"`
  (backprop), PennyLane 0.45 traces the simulation into the XLA program: it jits and vmaps.
  Devices or diff methods that leave JAX (lightning.qubit, adjoint, parameter-shift) run
  through a host callback; `benchmarks/quantum_throughput.py` measures that cost.
- backend "jax": `research.quantum.statevector`, the same gates in plain JAX.

Kinds (weights shapes):
- "classifier": embedding(x) then `layers` of weights `[L, n, 3]`; returns <Z_0>.
  Embeddings: "angle" (RX(x_i) on wire i, x [n]), "amplitude" (x [2^n], normalised),
  "basis" (bits x [n] in {0, 1}). Layers: "strongly_entangling" or "ring" (Rot on every
  wire then a CNOT ring, as in PennyLane's parity demo).
- "reupload": 1 qubit; layer l applies Rot(theta_l + w_l * (x_0, x_1, 0)); weights
  `{"theta": [L, 3], "w": [L, 3]}`; returns <Z>.
- "kernel": the embedding kernel |<0| U(x')^dagger U(x) |0>|^2, U(x) = layers of
  (H, RZ(x_{i mod d}), RY(weights[l, i, 0]) on every wire i, then a CRZ(weights[l, i, 1])
  ring); weights `[L, n, 2]`, x = concat(x, x') `[2d]` with d <= n features, fed to the
  wires cyclically (wire i reads feature i mod d), so more wires re-upload the features.
- "random": McClean et al.'s random circuits: RY(pi/4) on every wire, then L layers of
  R_{P}(angles[l, i]) with P in {X, Y, Z} chosen by `choices[l, i]`, each followed by a
  ladder of CZ; returns <Z_0 Z_1>. weights `{"angles": [L, n], "choices": [L, n] int}`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from frontier.circuits import quiet_qnode
from research.quantum import statevector as sv

KINDS = ("classifier", "reupload", "kernel", "random")
EMBEDDINGS = ("angle", "amplitude", "basis")
LAYERS = ("strongly_entangling", "ring")
BACKENDS = ("pennylane", "jax")


def feature_count(embedding: str, num_qubits: int) -> int:
    """Number of features an embedding takes on `num_qubits` wires."""
    if embedding not in EMBEDDINGS:
        raise ValueError(f"unknown embedding {embedding!r}; choose one of {EMBEDDINGS}")
    return 2**num_qubits if embedding == "amplitude" else num_qubits


def check_features(x: np.ndarray, embedding: str, num_qubits: int) -> None:
    """ValueError unless `x [examples, features]` fits the embedding's wires."""
    want = feature_count(embedding, num_qubits)
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != want:
        raise ValueError(
            f"{embedding} embedding on {num_qubits} wires takes {want} features per example, "
            f"got data of shape {x.shape}: "
            + (
                f"pad or select features to {want}, or use {int(np.log2(x.shape[-1]))} qubits"
                if embedding == "amplitude"
                else f"use {x.shape[-1]} qubits or select {want} features"
            )
        )
    if embedding == "basis" and not np.isin(x, (0, 1)).all():
        raise ValueError("basis embedding takes bits: every feature must be 0 or 1")
    if embedding == "amplitude" and np.any(np.linalg.norm(x, axis=1) == 0):
        raise ValueError("amplitude embedding cannot normalise an all-zero feature vector")


def check_kernel_features(x: np.ndarray, num_qubits: int) -> None:
    """ValueError unless `x [examples, d]` has 1 <= d <= num_qubits (features cycle over wires)."""
    x = np.asarray(x)
    if x.ndim != 2 or not 1 <= x.shape[1] <= num_qubits:
        raise ValueError(
            f"the embedding kernel on {num_qubits} wires takes 1 to {num_qubits} features per "
            f"example (fed to the wires cyclically), got data of shape {x.shape}: use at least "
            f"{x.shape[-1] if x.ndim else 1} qubits or select fewer features"
        )


def check_labels(y: np.ndarray, allowed: tuple, name: str = "labels") -> None:
    """ValueError naming the offending values unless every label is in `allowed`."""
    bad = sorted(set(np.unique(np.asarray(y)).tolist()) - set(allowed))
    if bad:
        raise ValueError(f"{name} must be in {allowed}; found {bad[:5]}: map the classes first")


def check_device(name: str) -> None:
    import pennylane as qml

    known = sorted(qml.plugin_devices)
    if name not in known:
        raise ValueError(f"unknown PennyLane device {name!r}; installed devices: {known}")
    if name not in ("default.qubit", "lightning.qubit", "reference.qubit"):
        raise ValueError(
            f"device {name!r} is installed but not a qubit statevector simulator with a JAX "
            "interface; use default.qubit or lightning.qubit"
        )


# ---------------------------------------------------------------- PennyLane circuits


def _pl_embedding(qml, x, embedding, wires):
    if embedding == "angle":
        qml.AngleEmbedding(x, wires=wires, rotation="X")
    elif embedding == "amplitude":
        qml.AmplitudeEmbedding(x, wires=wires, normalize=True)
    else:
        qml.BasisEmbedding(x, wires=wires)


def _pl_layers(qml, weights, layers, wires):
    if layers == "strongly_entangling":
        qml.StronglyEntanglingLayers(weights, wires=wires)
        return
    n = len(wires)
    for layer in range(weights.shape[0]):
        for i in wires:
            qml.Rot(*weights[layer, i], wires=i)
        if n > 1:
            for i in wires:
                qml.CNOT(wires=[i, (i + 1) % n])


def _pl_kernel_ansatz(qml, x, weights, wires):
    n = len(wires)
    for layer in range(weights.shape[0]):
        for i in wires:
            qml.Hadamard(wires=i)
            qml.RZ(x[i % x.shape[0]], wires=i)
            qml.RY(weights[layer, i, 0], wires=i)
        if n > 1:
            for i in wires:
                qml.CRZ(weights[layer, i, 1], wires=[i, (i + 1) % n])


def _pl_random(qml, angles, choices, wires):
    n = len(wires)
    for i in wires:
        qml.RY(np.pi / 4, wires=i)
    for layer in range(angles.shape[0]):
        for i in wires:
            # Exactly one of the three angles is non-zero: a rotation about the chosen axis.
            c = choices[layer, i]
            qml.RX(angles[layer, i] * (c == 0), wires=i)
            qml.RY(angles[layer, i] * (c == 1), wires=i)
            qml.RZ(angles[layer, i] * (c == 2), wires=i)
        for i in range(n - 1):
            qml.CZ(wires=[i, i + 1])


def _pennylane_circuit(kind, n, embedding, layers, device, diff_method):
    import pennylane as qml

    check_device(device)
    wires = list(range(n))
    dev = qml.device(device, wires=n)

    if kind == "classifier":

        def body(weights, x):
            _pl_embedding(qml, x, embedding, wires)
            _pl_layers(qml, weights, layers, wires)
            return qml.expval(qml.PauliZ(0))

    elif kind == "reupload":

        def body(weights, x):
            x3 = jnp.concatenate([x, jnp.zeros(1, x.dtype)])
            for layer in range(weights["theta"].shape[0]):
                qml.Rot(*(weights["theta"][layer] + weights["w"][layer] * x3), wires=0)
            return qml.expval(qml.PauliZ(0))

    elif kind == "kernel":

        def body(weights, x):
            d = x.shape[0] // 2
            _pl_kernel_ansatz(qml, x[:d], weights, wires)
            qml.adjoint(_pl_kernel_ansatz)(qml, x[d:], weights, wires)
            return qml.probs(wires=wires)

    else:

        def body(weights, x):
            _pl_random(qml, weights["angles"], weights["choices"], wires)
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    qnode = qml.qnode(dev, interface="jax", diff_method=diff_method)(body)
    if kind == "kernel":
        return quiet_qnode(lambda w, x: qnode(w, x)[0])
    return quiet_qnode(qnode)


# ---------------------------------------------------------------- pure-JAX circuits


def _jax_kernel_ansatz(state, x, weights, n):
    for layer in range(weights.shape[0]):
        for i in range(n):
            state = sv.apply_1q(state, sv.HADAMARD, i)
            state = sv.apply_1q(state, sv.rz(x[i % x.shape[0]]), i)
            state = sv.apply_1q(state, sv.ry(weights[layer, i, 0]), i)
        if n > 1:
            for i in range(n):
                state = sv.apply_controlled(state, sv.rz(weights[layer, i, 1]), i, (i + 1) % n)
    return state


def _jax_circuit(kind, n, embedding, layers):
    if kind == "classifier":

        def fn(weights, x):
            if embedding == "angle":
                state = sv.angle_embedding(sv.zero_state(n), x)
            elif embedding == "amplitude":
                state = sv.amplitude_state(x, n)
            else:
                state = sv.basis_state(x, n)
            layer_fn = (
                sv.strongly_entangling_layers if layers == "strongly_entangling" else sv.ring_layers
            )
            return sv.expval_z(layer_fn(state, weights), 0)

    elif kind == "reupload":

        def fn(weights, x):
            x3 = jnp.concatenate([x, jnp.zeros(1, x.dtype)])
            state = sv.zero_state(1)
            for layer in range(weights["theta"].shape[0]):
                state = sv.apply_1q(
                    state, sv.rot(*(weights["theta"][layer] + weights["w"][layer] * x3)), 0
                )
            return sv.expval_z(state, 0)

    elif kind == "kernel":

        def fn(weights, x):
            d = x.shape[0] // 2
            a = _jax_kernel_ansatz(sv.zero_state(n), x[:d], weights, n)
            b = _jax_kernel_ansatz(sv.zero_state(n), x[d:], weights, n)
            return jnp.abs(jnp.vdot(b, a)) ** 2  # = |<0| U(x')^dag U(x) |0>|^2

    else:

        def fn(weights, x):
            state = sv.zero_state(n)
            for i in range(n):
                state = sv.apply_1q(state, sv.ry(jnp.pi / 4), i)

            def layer(state, inputs):  # a scan over layers keeps deep circuits quick to compile
                angles, choices = inputs
                for i in range(n):
                    state = sv.apply_1q(state, sv.pauli_rotation(angles[i], choices[i]), i)
                for i in range(n - 1):
                    state = sv.cz(state, i, i + 1)
                return state, None

            state, _ = jax.lax.scan(layer, state, (weights["angles"], weights["choices"]))
            return sv.expval_zz(state, 0, 1)

    return fn


def make_circuit(
    kind: str,
    num_qubits: int,
    *,
    backend: str = "pennylane",
    device: str = "default.qubit",
    embedding: str = "angle",
    layers: str = "strongly_entangling",
    diff_method: str = "best",
    batch: int = 1,
) -> Callable:
    """`fn(weights, x) -> scalar` for one example (see the module docstring for shapes)."""
    if kind not in KINDS:
        raise ValueError(f"unknown circuit kind {kind!r}; choose one of {KINDS}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if layers not in LAYERS:
        raise ValueError(f"unknown layers {layers!r}; choose one of {LAYERS}")
    feature_count(embedding, num_qubits)  # validates the embedding's name
    if kind == "reupload" and num_qubits != 1:
        raise ValueError(f"the re-uploading classifier uses 1 qubit, got {num_qubits}")
    if kind == "random" and num_qubits < 2:
        raise ValueError(f"random circuits measure Z_0 Z_1: need >= 2 qubits, got {num_qubits}")
    sv.check_statevector_memory(num_qubits, batch=batch)
    if backend == "pennylane":
        return _pennylane_circuit(kind, num_qubits, embedding, layers, device, diff_method)
    return _jax_circuit(kind, num_qubits, embedding, layers)
