import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from frontier.loop import run_config
from research.quantum import circuits, qbm
from research.quantum import statevector as sv
from research.quantum.experiments import parity_data, target_alignment
from research.quantum.reproduce_qbm import reproduce_qbm

RNG = np.random.default_rng(0)


def _both(kind, n, weights, x, **kw):
    """Per-example values `[batch]` and the gradient of their sum, from both backends.

    One jitted value_and_grad per backend: compiling once is far cheaper than running the
    PennyLane tape op by op (eager), which dominated this file's run time.
    """
    values, grads = [], []
    for backend in ("pennylane", "jax"):
        f = jax.vmap(circuits.make_circuit(kind, n, backend=backend, **kw), in_axes=(None, 0))

        def total(w, f=f):
            out = f(w, x)
            return jnp.sum(out), out

        (_, v), g = jax.jit(jax.value_and_grad(total, has_aux=True))(weights)
        values.append(v)
        grads.append(g)
    return values, grads


@pytest.mark.parametrize(
    "embedding,ansatz",
    [("angle", "strongly_entangling"), ("amplitude", "ring"), ("basis", "strongly_entangling")],
)
def test_pure_jax_backend_matches_pennylane(embedding, ansatz):
    n = 3
    if embedding == "basis":
        x = RNG.integers(0, 2, (4, n)).astype(np.float32)
    else:
        x = RNG.normal(size=(4, circuits.feature_count(embedding, n))).astype(np.float32)
    w = jnp.asarray(RNG.normal(size=(2, n, 3)), jnp.float32)
    (va, vb), (ga, gb) = _both("classifier", n, w, x, embedding=embedding, layers=ansatz)
    np.testing.assert_allclose(va, vb, atol=2e-6)
    np.testing.assert_allclose(ga, gb, atol=5e-6)
    assert np.std(np.asarray(va)) > 1e-3  # not a constant circuit


def test_reupload_kernel_and_random_circuits_match_pennylane():
    w = {k: jnp.asarray(RNG.normal(size=(3, 3)), jnp.float32) for k in ("theta", "w")}
    (va, vb), (ga, gb) = _both("reupload", 1, w, RNG.normal(size=(5, 2)).astype(np.float32))
    np.testing.assert_allclose(va, vb, atol=2e-6)
    np.testing.assert_allclose(ga["w"], gb["w"], atol=5e-6)
    wk = jnp.asarray(RNG.normal(size=(2, 2, 2)), jnp.float32)
    xk = RNG.normal(size=(5, 4)).astype(np.float32)
    va, vb = (
        jax.jit(jax.vmap(circuits.make_circuit("kernel", 2, backend=b), in_axes=(None, 0)))(wk, xk)
        for b in ("pennylane", "jax")
    )
    np.testing.assert_allclose(va, vb, atol=2e-6)
    assert np.all((np.asarray(vb) >= -1e-6) & (np.asarray(vb) <= 1 + 1e-6))
    # 2 features on 3 wires: fed cyclically, and both backends still agree
    xc = RNG.normal(size=(4, 4)).astype(np.float32)
    wc = jnp.asarray(RNG.normal(size=(2, 3, 2)), jnp.float32)
    vc = [
        jax.vmap(circuits.make_circuit("kernel", 3, backend=b), in_axes=(None, 0))(wc, xc)
        for b in ("pennylane", "jax")
    ]
    np.testing.assert_allclose(vc[0], vc[1], atol=2e-6)
    # k(x, x) = 1 for an embedding kernel
    same = np.tile(RNG.normal(size=(1, 2)).astype(np.float32), (1, 2))
    k = circuits.make_circuit("kernel", 2, backend="jax")
    assert float(k(wk, same[0])) == pytest.approx(1.0, abs=1e-5)
    angles = jnp.asarray(RNG.uniform(0, 6, (4, 3)), jnp.float32)
    choices = jnp.asarray(RNG.integers(0, 3, (4, 3)))
    outs = [
        circuits.make_circuit("random", 3, backend=b)({"angles": angles, "choices": choices}, None)
        for b in ("pennylane", "jax")
    ]
    assert float(outs[0]) == pytest.approx(float(outs[1]), abs=2e-6)


def test_default_qubit_traces_into_xla_without_a_host_callback():
    f = circuits.make_circuit("classifier", 2, backend="pennylane")
    jaxpr = str(jax.make_jaxpr(f)(jnp.zeros((1, 2, 3)), jnp.zeros(2)))
    assert "callback" not in jaxpr


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="angle embedding on 4 wires takes 4 features"):
        circuits.check_features(np.zeros((3, 5)), "angle", 4)
    with pytest.raises(ValueError, match="embedding kernel on 2 wires takes 1 to 2 features"):
        circuits.check_kernel_features(np.zeros((3, 3)), 2)
    circuits.check_kernel_features(np.zeros((3, 2)), 5)  # fewer features than wires: cycled
    with pytest.raises(ValueError, match="amplitude embedding on 2 wires takes 4 features"):
        circuits.check_features(np.ones((3, 8)), "amplitude", 2)
    with pytest.raises(ValueError, match="every feature must be 0 or 1"):
        circuits.check_features(np.full((2, 3), 2.0), "basis", 3)
    with pytest.raises(ValueError, match=r"labels must be in \(-1.0, 1.0\); found \[0.0\]"):
        circuits.check_labels(np.array([0.0, 1.0]), (-1.0, 1.0))
    with pytest.raises(ValueError, match="unknown PennyLane device 'default.qbit'"):
        circuits.make_circuit("classifier", 2, device="default.qbit")
    with pytest.raises(ValueError, match="unknown embedding"):
        circuits.make_circuit("classifier", 2, embedding="angel")
    with pytest.raises(ValueError, match="unknown circuit kind"):
        circuits.make_circuit("clasifier", 2)


def test_bad_config_values_are_named(tmp_path):
    with pytest.raises(ValueError, match="angle embedding on 3 wires takes 3 features"):
        run_config(
            "configs/quantum/parity.py:smoke",
            tmp_path / "a",
            ["circuit.qubits=3", "circuit.embedding=angle"],
        )
    with pytest.raises(ValueError, match="unknown PennyLane device 'lightning.qbit'"):
        run_config(
            "configs/quantum/iris.py:smoke", tmp_path / "b", ["circuit.device=lightning.qbit"]
        )
    with pytest.raises(ValueError, match="qbm.model must be one of"):
        run_config("configs/quantum/qbm_qbm.py:smoke", tmp_path / "c", ["qbm.model=rbm"])


def test_memory_guard_errors_before_allocating(tmp_path):
    with pytest.raises(sv.TooLargeError, match=r"16384x16384 float64 matrices, about 16.00 GB"):
        sv.check_density_memory(14, limit_bytes=2**30)
    with pytest.raises(sv.TooLargeError, match="statevector.*40 qubits"):
        sv.check_statevector_memory(40)
    assert sv.check_density_memory(4) == 256 * 8 * 8
    with pytest.raises(sv.TooLargeError, match="exact diagonalisation of 30 qubits"):
        run_config("configs/quantum/qbm_qbm.py:smoke", tmp_path / "q", ["qbm.visible=30"])


def test_memory_guard_reads_an_accelerators_own_memory(monkeypatch):
    class FakeGPU:
        platform = "gpu"

        def memory_stats(self):
            return {"bytes_limit": 8 * 2**30, "bytes_in_use": 2**30}

    monkeypatch.setattr(jax, "local_devices", lambda: [FakeGPU()])
    assert sv.available_memory_bytes() == 7 * 2**30
    with pytest.raises(sv.TooLargeError, match="more than the 7.00 GB available"):
        sv.check_density_memory(14)  # 8 float64 matrices of 16384^2: 16 GB
    FakeGPU.memory_stats = lambda self: None  # a backend without statistics: host memory
    assert sv.available_memory_bytes() > 0


def test_parity_data_and_alignment():
    xtr, ytr, xte, yte = parity_data(4, 0.625, 0)
    assert xtr.shape == (10, 4) and xte.shape == (6, 4)
    x = np.concatenate([xtr, xte])
    assert len({tuple(r) for r in x}) == 16
    np.testing.assert_array_equal(np.concatenate([ytr, yte]), np.where(x.sum(1) % 2, 1, -1))
    y = jnp.array([1.0, -1.0, 1.0])
    assert float(target_alignment(jnp.outer(y, y), y)) == pytest.approx(1.0)


# ---------------------------------------------------------------- quantum Boltzmann machine


def _params(n, gamma, b=None, w=None):
    return {
        "gamma": jnp.asarray(gamma, jnp.float64),
        "b": jnp.asarray(np.zeros(n) if b is None else b, jnp.float64),
        "w": jnp.asarray(np.zeros((n, n)) if w is None else np.triu(w, 1), jnp.float64),
    }


def _visible(p_data):
    return int(np.log2(p_data.shape[0]))


def _qbm_loglik(p, p_data):
    """sum_v P_data(v) log P_v for the visible units of `p_data [2^visible]`."""
    return jnp.sum(p_data * qbm.log_marginals(p, _visible(p_data), "qbm"))


def _expm_loglik(p, p_data):
    """The same via jax.scipy.linalg.expm (Pade, no eigh): an independent reference."""
    rho = jax.scipy.linalg.expm(-qbm.hamiltonian(p["gamma"], p["b"], p["w"]))
    marg = jnp.diag(rho).reshape(p_data.shape[0], -1).sum(1) / jnp.trace(rho)
    return jnp.sum(p_data * jnp.log(marg))


def _gt_bound(p, p_data):
    return qbm.golden_thompson_bound(p, p_data, _visible(p_data))[0]


@functools.cache
def _compiled(f):
    """(jit(f), jit(value_and_grad(f))), shared by every test and parameter case."""
    return jax.jit(f), jax.jit(jax.value_and_grad(f))


def _finite_difference_check(f, params, p_data, eps=1e-6, atol=1e-7):
    """Central differences of `f(params, p_data)` against its autodiff gradient; (value, grads)."""
    f_jit, f_value_and_grad = _compiled(f)
    f_value, grads = f_value_and_grad(params, p_data)
    worst = 0.0
    for key, value in params.items():
        for idx in np.ndindex(value.shape):
            if key == "w" and idx[0] >= idx[1]:
                continue
            up = {k: np.array(v) for k, v in params.items()}
            down = {k: np.array(v) for k, v in params.items()}
            up[key][idx] += eps
            down[key][idx] -= eps
            up, down = jax.tree.map(jnp.asarray, up), jax.tree.map(jnp.asarray, down)
            fd = (f_jit(up, p_data) - f_jit(down, p_data)) / (2 * eps)
            worst = max(worst, abs(float(fd) - float(grads[key][idx])))
    assert worst < atol, worst
    return f_value, grads


CASES = {
    "random": lambda n: _params(n, RNG.normal(size=n), RNG.normal(size=n), RNG.normal(size=(n, n))),
    "degenerate (H = -sum X)": lambda n: _params(n, np.ones(n)),
    "classical, all equal (Gamma = 0)": lambda n: _params(n, np.zeros(n)),
}


def test_hamiltonian_matches_pennylane_operators():
    import pennylane as qml

    n = 3
    with jax.enable_x64(True):
        p = CASES["random"](n)
        ours = np.asarray(qbm.hamiltonian(p["gamma"], p["b"], p["w"]))
        op = qbm.pennylane_hamiltonian(
            np.asarray(p["gamma"]), np.asarray(p["b"]), np.asarray(p["w"])
        )
        theirs = qml.matrix(op, wire_order=range(n))
    np.testing.assert_allclose(ours, np.real(theirs), atol=1e-12)
    assert np.allclose(np.imag(theirs), 0)


@pytest.mark.parametrize("case", list(CASES))
def test_qbm_log_likelihood_gradient_against_finite_differences(case):
    n, visible = 3, 2  # one hidden unit: P_v traces it out
    with jax.enable_x64(True):
        params = CASES[case](n)
        p_data = jnp.asarray(RNG.dirichlet(np.ones(2**visible)))
        value, grads = _finite_difference_check(_qbm_loglik, params, p_data)
        # independent reference: autodiff through jax.scipy.linalg.expm (Pade, no eigh)
        ref_value, ref = _compiled(_expm_loglik)[1](params, p_data)
        assert float(value) == pytest.approx(float(ref_value), abs=1e-12)
        for k in grads:
            np.testing.assert_allclose(grads[k], ref[k], atol=1e-10)


def test_naive_eigh_gradient_is_wrong_at_degenerate_spectra():
    n = 3
    with jax.enable_x64(True):
        params = CASES["degenerate (H = -sum X)"](n)
        p_data = jnp.asarray(RNG.dirichlet(np.ones(2**n)))

        def naive(p):
            lam, u = jnp.linalg.eigh(-qbm.hamiltonian(p["gamma"], p["b"], p["w"]))
            rho = (u * jnp.exp(lam)) @ u.T
            return jnp.sum(p_data * jnp.log(jnp.diag(rho) / jnp.trace(rho)))

        ours = jax.jit(jax.grad(lambda p: jnp.sum(p_data * qbm.log_marginals(p, n, "qbm"))))(params)
        bad = jax.jit(jax.grad(naive))(params)
        assert not np.allclose(bad["b"], ours["b"], atol=1e-3) or not np.all(np.isfinite(bad["b"]))


@pytest.mark.parametrize("case", ["random", "degenerate (H = -sum X)"])
def test_bqbm_bound_gradient_against_finite_differences_and_below_loglik(case):
    n, visible = 3, 2
    with jax.enable_x64(True):
        params = CASES[case](n)
        params["w"] = params["w"] * jnp.asarray(qbm.coupling_mask(visible, 1, "semi_restricted"))
        p_data = jnp.asarray(RNG.dirichlet(np.ones(2**visible)))
        value, grads = _finite_difference_check(_gt_bound, params, p_data)
        loglik = _compiled(_qbm_loglik)[0](params, p_data)
        assert float(value) <= float(loglik) + 1e-12
        # the bound's gradient in b is the positive phase minus the negative phase:
        # for a fully visible model, sum_v P(v) z_v - <Z>_rho
        full = CASES[case](visible)
        pd = jnp.asarray(RNG.dirichlet(np.ones(2**visible)))
        _, g = _compiled(_gt_bound)[1](full, pd)
        z = jnp.asarray(qbm.spins(visible))
        rho = jax.jit(
            lambda p: jax.scipy.linalg.expm(-qbm.hamiltonian(p["gamma"], p["b"], p["w"]))
        )(full)
        rho = rho / jnp.trace(rho)
        np.testing.assert_allclose(g["b"], pd @ z - jnp.diag(rho) @ z, atol=1e-10)
        assert np.all(np.isfinite(grads["b"]))


def test_bm_path_equals_qbm_at_zero_transverse_field_and_data_is_normalised():
    n, visible = 4, 3
    with jax.enable_x64(True):
        p = _params(n, np.zeros(n), RNG.normal(size=n), RNG.normal(size=(n, n)))
        np.testing.assert_allclose(
            qbm.log_marginals(p, visible, "bm"), qbm.log_marginals(p, visible, "qbm"), atol=1e-10
        )
        centres = jnp.asarray(RNG.integers(0, 2, (8, 10)))
        pd = qbm.bernoulli_mixture(centres, 0.9)
        assert pd.shape == (1024,) and float(jnp.sum(pd)) == pytest.approx(1.0, abs=1e-12)
        # the probability of a centre itself is at least p^N / M
        bits = ((1 - qbm.spins(10)) / 2).astype(int)
        idx = int(np.flatnonzero((bits == np.asarray(centres[0])).all(1))[0])
        assert float(pd[idx]) >= 0.9**10 / 8


def test_qbm_training_lowers_kl_and_reproduction_writes_table(tmp_path):
    table = reproduce_qbm(tmp_path, smoke=True, seeds=2)
    md = table.to_markdown()
    for label in ("BM (Gamma = 0)", "bQBM", "QBM (exact gradient)"):
        assert label in md
    assert (tmp_path / "plots" / "kl_vs_iterations.png").exists()
    from research.quantum.reproduce_qbm import kl_curves

    steps, kl = kl_curves(tmp_path / "qbm")
    assert kl.shape == (2, 3) and np.all(kl[:, -1] < kl[:, 0])


def test_parity_classifier_learns():
    # The experiment's own jitted step and evaluation (the shared loop's overhead is covered by
    # tests/test_configs.py): 40 steps reach what the full config's 100 steps assert.
    from frontier.config import load_config
    from research.quantum.experiments import VariationalClassifier

    exp = VariationalClassifier(load_config("configs/quantum/parity.py", ["circuit.backend=jax"]))
    step, evaluate = jax.jit(exp.step), jax.jit(exp.evaluate)
    for seed in (0, 1):
        state = exp.init(jax.random.key(seed))
        before = evaluate(state, jax.random.key(0))
        for t in range(40):
            state, _ = step(state, exp.batch(t, seed), jax.random.key(t))
        after = evaluate(state, jax.random.key(0))
        assert float(after["train_accuracy"]) >= 0.9
        assert float(after["loss"]) < 0.1 * float(before["loss"])


def test_barren_reproduction_writes_both_depths_and_the_plot(tmp_path):
    from research.quantum.reproduce import reproduce_barren

    table = reproduce_barren(tmp_path, smoke=True, seeds=2)
    slopes = [r for r in table.rows if r.method.startswith("fitted slope")]
    assert [r.setting for r in slopes] == ["3 layers per qubit", "5 layers"]
    for r in slopes:
        assert len(r.values) == 2 and np.all(np.isfinite(r.values)) and r.reference == -1.0
    variances = [r for r in table.rows if r.method.startswith("Var of gradient")]
    assert [r.setting for r in variances] == ["6 layers", "9 layers", "12 layers"]
    assert all(0 < v < 1 for r in variances for v in r.values)
    assert (tmp_path / "plots" / "barren_plateau.png").stat().st_size > 0
