"""Quantum Boltzmann machine (Amin et al., PRX 8, 021050, 2018) by exact diagonalisation.

H = -sum_a Gamma_a X_a - sum_a b_a Z_a - sum_{a<b} w_ab Z_a Z_b on n = visible + hidden
qubits (wire 0 is the most significant bit; bit 0 is Z = +1), rho = exp(-H) / Tr exp(-H),
P_v = Tr[Lambda_v rho] = sum_h <v, h| rho |v, h>.

Numerics are float64: every function here that touches H runs inside
`jax.enable_x64(True)` (the experiment's step enters it and leaves float32 parameters to
the shared loop, which stays in float32 like the other modules).

Gradients: `shifted_expm(A) = exp(A - c I)` (A symmetric, c its largest eigenvalue) has a
custom JVP, the Daleckii-Krein (Frechet derivative) formula in the eigenbasis,
d exp(A)[E] = U (G o (U^T E U)) U^T with the divided differences
G_ij = (e^{mu_i} - e^{mu_j}) / (mu_i - mu_j), and G_ij = e^{mu_i} where mu_i = mu_j. It is
exact at degenerate spectra, where differentiating `eigh`'s eigenvectors divides by zero.
Reverse mode transposes this linear map, so `jax.grad` of any function of exp(-H) is exact.

Models:
- "bm": the classical Boltzmann machine (Gamma = 0; H is diagonal, no matrix is built).
- "qbm": exact log-likelihood of the QBM; Gamma is learned when `learn_gamma`.
- "bqbm": maximises the Golden-Thompson lower bound sum_v P_data(v) log Tr e^{-H_v} -
  log Tr e^{-H}, with H_v the Hamiltonian clamped to v (visible transverse fields removed);
  Gamma is a fixed hyperparameter. The bound's gradient is the classical positive phase
  minus the quantum negative phase.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from research.quantum import statevector as sv

MODELS = ("bm", "bqbm", "qbm")
CONNECTIVITY = ("full", "semi_restricted", "restricted")


# ---------------------------------------------------------------- matrix exponential


def _divided_differences(mu: jax.Array) -> jax.Array:
    """G_ij = (e^{mu_i} - e^{mu_j}) / (mu_i - mu_j), e^{mu_i} on ties; `mu [d]` -> `[d, d]`.

    Written as e^{max} * (1 - e^{-|diff|}) / |diff|, which neither overflows nor cancels.
    """
    top = jnp.maximum(mu[:, None], mu[None, :])
    gap = jnp.abs(mu[:, None] - mu[None, :])
    tiny = gap < 1e-8
    safe = jnp.where(tiny, 1.0, gap)
    ratio = jnp.where(tiny, 1.0 - 0.5 * gap, -jnp.expm1(-safe) / safe)
    return jnp.exp(top) * ratio


@jax.custom_jvp
def shifted_expm(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(exp(A - c I), c) for symmetric `a [d, d]`, c = largest eigenvalue (held constant)."""
    lam, u = jnp.linalg.eigh(a)
    c = lam[-1]
    return (u * jnp.exp(lam - c)) @ u.T, c


@shifted_expm.defjvp
def _shifted_expm_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    lam, u = jnp.linalg.eigh(a)
    c = jax.lax.stop_gradient(lam[-1])
    mu = lam - c
    out = (u * jnp.exp(mu)) @ u.T
    inner = u.T @ da @ u
    dout = u @ (_divided_differences(mu) * inner) @ u.T
    return (out, c), (dout, jnp.zeros_like(c))


# ---------------------------------------------------------------- the Hamiltonian


def spins(num_units: int) -> np.ndarray:
    """`[2^n, n]` Z eigenvalues (+1 for bit 0) of every basis state, wire 0 most significant."""
    bits = np.array(list(itertools.product((0, 1), repeat=num_units)), dtype=np.float64)
    return 1.0 - 2.0 * bits


def coupling_mask(num_visible: int, num_hidden: int, connectivity: str) -> np.ndarray:
    """`[n, n]` 0/1 strictly upper-triangular mask of the allowed couplings w_ab (a < b)."""
    if connectivity not in CONNECTIVITY:
        raise ValueError(f"unknown connectivity {connectivity!r}; choose one of {CONNECTIVITY}")
    n = num_visible + num_hidden
    mask = np.triu(np.ones((n, n)), 1)
    hidden = np.arange(n) >= num_visible
    if connectivity in ("semi_restricted", "restricted"):
        mask[np.ix_(hidden, hidden)] = 0.0
    if connectivity == "restricted":
        mask[np.ix_(~hidden, ~hidden)] = 0.0
    return mask


def classical_energies(b: jax.Array, w: jax.Array, z: jax.Array) -> jax.Array:
    """E(z) = -sum_a b_a z_a - sum_{a<b} w_ab z_a z_b for `z [states, n]` (w upper-triangular)."""
    return -z @ b - jnp.einsum("sa,ab,sb->s", z, jnp.triu(w, 1), z)


def hamiltonian(gamma: jax.Array, b: jax.Array, w: jax.Array) -> jax.Array:
    """The dense `[2^n, 2^n]` transverse-field Ising Hamiltonian (built without PennyLane)."""
    n = b.shape[0]
    dim = 2**n
    z = jnp.asarray(spins(n), b.dtype)
    index = np.arange(dim)
    h = jnp.diag(classical_energies(b, w, z))
    for a in range(n):  # X_a flips bit a: <s ^ (1 << (n-1-a))| X_a |s> = 1
        h = h.at[index, index ^ (1 << (n - 1 - a))].add(-gamma[a])
    return h


def pennylane_hamiltonian(gamma, b, w):
    """The same H as a PennyLane operator (qml.dot of X, Z and ZZ terms)."""
    import pennylane as qml

    n = len(b)
    coeffs, ops = [], []
    for a in range(n):
        coeffs += [-float(gamma[a]), -float(b[a])]
        ops += [qml.PauliX(a), qml.PauliZ(a)]
    for a, c in itertools.combinations(range(n), 2):
        coeffs.append(-float(w[a, c]))
        ops.append(qml.PauliZ(a) @ qml.PauliZ(c))
    return qml.dot(coeffs, ops)


# ---------------------------------------------------------------- distributions and objectives


def bernoulli_mixture(centres: jax.Array, p: float) -> jax.Array:
    """P(v) = (1/M) sum_k p^(N - d_k) (1 - p)^d_k, d_k the Hamming distance to centre k.

    `centres [M, N]` bits -> `[2^N]` probabilities over v in the order of `spins(N)`.
    """
    n = centres.shape[1]
    bits = (1.0 - jnp.asarray(spins(n))) / 2.0
    d = jnp.sum(jnp.abs(bits[:, None, :] - centres[None].astype(bits.dtype)), -1)  # [2^N, M]
    return jnp.mean(p ** (n - d) * (1.0 - p) ** d, axis=1)


def log_marginals(params: dict, num_visible: int, model: str) -> jax.Array:
    """log P_v over the `2^visible` visible states; `params` {"b" [n], "w" [n, n], "gamma" [n]}."""
    b, w = params["b"], params["w"]
    n = b.shape[0]
    nh = n - num_visible
    if model == "bm":
        z = jnp.asarray(spins(n), b.dtype)
        neg_e = -classical_energies(b, w, z).reshape(2**num_visible, 2**nh)
        return jax.nn.logsumexp(neg_e, axis=1) - jax.nn.logsumexp(neg_e)
    rho, _ = shifted_expm(-hamiltonian(params["gamma"], b, w))
    diag = jnp.diag(rho).reshape(2**num_visible, 2**nh).sum(1)
    return jnp.log(diag) - jnp.log(jnp.trace(rho))


def golden_thompson_bound(
    params: dict, p_data: jax.Array, num_visible: int
) -> tuple[jax.Array, jax.Array]:
    """(sum_v P_data(v) log Tr e^{-H_v} - log Tr e^{-H}, log P_v of the QBM `[2^visible]`).

    The first is a lower bound on the log-likelihood. H_v: visible qubits clamped to v (their
    transverse fields drop out); the hidden qubits must not couple to each other, so
    Tr e^{-H_v} = e^{-E_visible(v)} prod_h 2 cosh(sqrt(Gamma_h^2 + b_eff_h(v)^2)).
    The second output (the model's exact marginals, from the same eigendecomposition) is
    for monitoring; differentiate the first only.
    """
    b, w, gamma = params["b"], params["w"], params["gamma"]
    n = b.shape[0]
    zv = jnp.asarray(spins(num_visible), b.dtype)
    wu = jnp.triu(w, 1)
    e_vis = classical_energies(b[:num_visible], wu[:num_visible, :num_visible], zv)
    b_eff = b[num_visible:] + zv @ wu[:num_visible, num_visible:]  # [2^N, hidden]
    field = jnp.sqrt(gamma[num_visible:] ** 2 + b_eff**2)
    log_tr_clamped = -e_vis + jnp.sum(jnp.log(2.0 * jnp.cosh(field)), axis=1)
    rho, c = shifted_expm(-hamiltonian(gamma, b, w))
    log_tr = jnp.log(jnp.trace(rho))
    diag = jnp.diag(rho).reshape(2**num_visible, 2 ** (n - num_visible)).sum(1)
    log_q = jax.lax.stop_gradient(jnp.log(diag) - log_tr)
    return jnp.sum(p_data * log_tr_clamped) - (log_tr + c), log_q


def kl_divergence(p_data: jax.Array, log_q: jax.Array) -> jax.Array:
    """KL(P_data || Q) = sum_v P log(P / Q)."""
    return jnp.sum(jnp.where(p_data > 0, p_data * (jnp.log(p_data) - log_q), 0.0))


# ---------------------------------------------------------------- the experiment


@frontier.experiment("quantum/qbm", "Quantum Boltzmann machine (BM, bQBM, QBM) by exact ED")
class QBM(frontier.Experiment):
    """Full-batch training on the exact data distribution; metrics `kl`, `loss`, `gamma_mean`.

    Config block `qbm`: model, visible, hidden, connectivity, gamma, learn_gamma, modes, p,
    init_scale, optimizer, learning_rate.
    """

    key_metrics = ("kl",)

    def __init__(self, config):
        super().__init__(config)
        q = config.qbm
        if q.model not in MODELS:
            raise ValueError(f"qbm.model must be one of {MODELS}, got {q.model!r}")
        if q.visible < 1 or q.hidden < 0:
            raise ValueError(
                f"qbm.visible must be >= 1 and qbm.hidden >= 0, got {q.visible}, {q.hidden}"
            )
        if not 0.0 < q.p < 1.0:
            raise ValueError(f"qbm.p must be in (0, 1), got {q.p}")
        if q.modes < 1:
            raise ValueError(f"qbm.modes must be >= 1, got {q.modes}")
        self.n = q.visible + q.hidden
        self.mask = coupling_mask(q.visible, q.hidden, q.connectivity)
        if q.model == "bqbm" and q.hidden and self.mask[q.visible :, q.visible :].any():
            raise ValueError(
                "bqbm with hidden units needs hidden units that do not couple to each other: "
                "set qbm.connectivity to 'semi_restricted' or 'restricted'"
            )
        if q.model != "bm":
            sv.check_density_memory(self.n)
        self.optimizer = frontier.make_optimizer(q.optimizer, q.learning_rate)

    def _trainable(self, params):
        q = self.config.qbm
        keep = {"b": 1.0, "w": 1.0, "gamma": float(q.model == "qbm" and q.learn_gamma)}
        return {k: v * keep[k] for k, v in params.items()}

    def init(self, key):
        q = self.config.qbm
        # One draw of standard normals for everything: mode-centre bits are their signs
        # (Bernoulli(1/2)). Each extra jax.random call costs about a second of XLA compilation
        # on CPU (threefry), several times this experiment's whole compiled step at N = 4.
        nc, n = q.modes * q.visible, self.n
        z = jax.random.normal(key, (nc + n + n * n,))
        centres = (z[:nc] > 0).astype(jnp.int32).reshape(q.modes, q.visible)
        gamma0 = 0.0 if q.model == "bm" else q.gamma
        params = {
            "b": q.init_scale * z[nc : nc + n],
            "w": q.init_scale * z[nc + n :].reshape(n, n) * self.mask,
            "gamma": jnp.full((self.n,), gamma0, jnp.float32),
        }
        return {"params": params, "opt_state": self.optimizer.init(params), "centres": centres}

    def _objective_and_grad(self, params32, centres):
        """Loss (to minimise), its gradient and the KL, all computed in float64."""
        q = self.config.qbm
        with jax.enable_x64(True):
            params = jax.tree.map(lambda x: x.astype(jnp.float64), params32)
            p_data = bernoulli_mixture(centres, q.p)
            mask = jnp.asarray(self.mask)

            def nll(par):
                par = {**par, "w": par["w"] * mask}
                log_q = log_marginals(par, q.visible, q.model)
                return -jnp.sum(p_data * log_q), log_q

            def negative_bound(par):
                par = {**par, "w": par["w"] * mask}
                bound, log_q = golden_thompson_bound(par, p_data, q.visible)
                return -bound, log_q

            objective = negative_bound if q.model == "bqbm" else nll
            (loss, log_q), grads = jax.value_and_grad(objective, has_aux=True)(params)
            kl = kl_divergence(p_data, log_q)
            grads = self._trainable(grads)
            out = jax.tree.map(lambda g: g.astype(jnp.float32), grads)
            return loss.astype(jnp.float32), out, kl.astype(jnp.float32)

    def step(self, state, batch, key):
        params = state["params"]
        loss, grads, kl = self._objective_and_grad(params, state["centres"])
        updates, opt_state = self.optimizer.update(grads, state["opt_state"], params)
        params = optax.apply_updates(params, updates)
        params = {**params, "w": params["w"] * jnp.asarray(self.mask, jnp.float32)}
        metrics = {
            "loss": loss,
            "kl": kl,
            "gamma_mean": jnp.mean(params["gamma"]),
            "l2_grads": optax.global_norm(grads),
        }
        return {**state, "params": params, "opt_state": opt_state}, metrics

    def evaluate(self, state, key):
        q = self.config.qbm
        with jax.enable_x64(True):
            params = jax.tree.map(lambda x: x.astype(jnp.float64), state["params"])
            p_data = bernoulli_mixture(state["centres"], q.p)
            model = "bm" if q.model == "bm" else "qbm"
            kl = kl_divergence(p_data, log_marginals(params, q.visible, model))
            return {"kl": kl.astype(jnp.float32)}
