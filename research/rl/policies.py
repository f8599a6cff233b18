"""Policies and value functions: MLPs (Flax) and a variational quantum policy (PennyLane).

Every policy is a pair `(init(key, obs_size) -> params, apply(params, obs [d]) -> logits [A])`
for one observation; the agents `jax.vmap` it over environments and minibatches.

The quantum policy follows the data re-uploading design of Jerbi et al. 2021 and Skolik et
al. 2022: on `qubits` wires (one per observation feature), `layers` blocks of
(RY(theta), RZ(theta) on every wire; a ring of CZ; RX(lambda * arctan(s_i)) on wire i) and a
final variational RY, RZ block; trainable input scaling `lambda [layers, qubits]`, and the
softmax policy pi(a|s) ∝ exp(w_a * <O_a>) with O_0 = Z_0 Z_1 ... Z_{n-1}, O_1 = -O_0 and
trainable output scaling `w [2]` (two actions: CartPole). The QNode uses default.qubit with
backprop, which PennyLane traces into the XLA program: it jits, vmaps and differentiates.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from frontier.circuits import quiet_qnode
from frontier.nn import MLP


def mlp(hidden: tuple[int, ...], out: int, act: str, final_scale: float = 1.0):
    """An MLP with orthogonal init (the PPO convention); `final_scale` for the last layer."""

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            from frontier.nn import activation

            f = activation(act)
            for width in hidden:
                x = f(nn.Dense(width, kernel_init=nn.initializers.orthogonal(jnp.sqrt(2.0)))(x))
            return nn.Dense(out, kernel_init=nn.initializers.orthogonal(final_scale))(x)

    net = Net()

    def init(key, obs_size):
        return net.init(key, jnp.zeros((obs_size,)))

    return init, net.apply


def plain_mlp(hidden: tuple[int, ...], out: int, act: str):
    """`frontier.nn.MLP` with Flax's default init (used for DQN's Q-network)."""
    net = MLP(tuple(hidden), out, act)

    def init(key, obs_size):
        return net.init(key, jnp.zeros((obs_size,)))

    return init, net.apply


def count_params(params) -> int:
    return int(sum(x.size for x in jax.tree.leaves(params)))


def quantum_policy(qubits: int, layers: int, num_actions: int, obs_size: int):
    """The re-uploading PQC policy (module docstring); `(init, apply)` like `mlp`."""
    import pennylane as qml

    if num_actions != 2:
        raise ValueError(
            f"the quantum policy has two actions (O and -O); this environment has {num_actions}"
        )
    if obs_size != qubits:
        raise ValueError(
            f"the quantum policy encodes one observation feature per qubit: the environment's "
            f"observation has {obs_size} features, so set model.qubits={obs_size}"
        )
    if layers < 1:
        raise ValueError(f"model.layers must be a positive integer, got {layers}")
    wires = list(range(qubits))
    dev = qml.device("default.qubit", wires=qubits)

    def body(theta, lam, s):
        for layer in range(layers):
            for i in wires:
                qml.RY(theta[layer, i, 0], wires=i)
                qml.RZ(theta[layer, i, 1], wires=i)
            if qubits > 1:
                for i in wires:
                    qml.CZ(wires=[i, (i + 1) % qubits])
            for i in wires:
                qml.RX(lam[layer, i] * jnp.arctan(s[i]), wires=i)
        for i in wires:
            qml.RY(theta[layers, i, 0], wires=i)
            qml.RZ(theta[layers, i, 1], wires=i)
        obs = qml.PauliZ(0)
        for i in wires[1:]:
            obs = obs @ qml.PauliZ(i)
        return qml.expval(obs)

    qnode = quiet_qnode(qml.qnode(dev, interface="jax", diff_method="backprop")(body))

    def init(key, _obs_size):
        return {
            "theta": jax.random.uniform(key, (layers + 1, qubits, 2), maxval=2 * jnp.pi),
            "input_scale": jnp.ones((layers, qubits)),
            "output_scale": jnp.ones((2,)),
        }

    def apply(params, obs):
        e = jnp.asarray(qnode(params["theta"], params["input_scale"], obs), jnp.float32)
        return params["output_scale"] * jnp.stack([e, -e])

    return init, apply
