"""Tests for research.meta.algorithms (MAML, FOMAML, Meta-SGD, Reptile, ProtoNets, eval).

Small analytic problems; Conv4 / training tests are in test_meta_integration.py.
Compilation dominates the run time on CPU, so related computations share one ``jax.jit``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from research.meta import algorithms as A
from research.meta.models import SinusoidMLP
from research.meta.tasks import sample_sinusoid_tasks


def scale_apply(params, x):
    """1-parameter model ``y = w * x``."""
    return params["w"] * x


def quadratic_task(a, c, b, d, k=4):
    """Support loss ``a (w - c)^2`` and query loss ``b (w - d)^2`` as the MSE of ``w * x``."""
    sa, sb = np.sqrt(a), np.sqrt(b)
    return {
        "support_x": jnp.full((k, 1), sa, jnp.float32),
        "support_y": jnp.full((k, 1), sa * c, jnp.float32),
        "query_x": jnp.full((k, 1), sb, jnp.float32),
        "query_y": jnp.full((k, 1), sb * d, jnp.float32),
    }


def stack_tasks(tasks):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)


def init_mlp(hidden_sizes=(40, 40), seed=0):
    model = SinusoidMLP(hidden_sizes=hidden_sizes)
    return model, jax.jit(model.init)(jax.random.key(seed), jnp.zeros((1, 1)))


def assert_trees_close(a, b, rtol=1e-5, atol=1e-7):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


# ------------------------------------------------------------------------------ MAML


@pytest.mark.parametrize("num_steps", [1, 3])
def test_maml_gradient_matches_analytic_on_quadratic(num_steps):
    a, c, b, d, alpha, w = 1.5, 2.0, 0.7, -1.0, 0.1, 0.3
    task = quadratic_task(a, c, b, d)
    params = {"w": jnp.float32(w)}
    kw = dict(apply_fn=scale_apply, loss_fn=A.mse_loss, num_steps=num_steps, inner_lr=alpha)

    shrink = 1.0 - 2.0 * alpha * a  # d w' / d w for one step on a (w - c)^2
    w_k = c + shrink**num_steps * (w - c)
    expected_loss = b * (w_k - d) ** 2
    expected_second = 2 * b * (w_k - d) * shrink**num_steps
    expected_first = 2 * b * (w_k - d)

    (loss, metrics), g2 = jax.value_and_grad(A.maml_loss, has_aux=True)(params, task, **kw)
    g1 = jax.grad(lambda p: A.maml_loss(p, task, first_order=True, **kw)[0])(params)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    np.testing.assert_allclose(metrics["support_loss_pre"], a * (w - c) ** 2, rtol=1e-5)
    np.testing.assert_allclose(g2["w"], expected_second, rtol=1e-5)
    np.testing.assert_allclose(g1["w"], expected_first, rtol=1e-5)
    assert abs(float(g2["w"]) - float(g1["w"])) > 0.1


def test_maml_meta_batch_averages_tasks():
    alpha, w = 0.05, 0.0
    specs = [(1.0, 1.0, 2.0, 0.5), (0.5, -2.0, 1.0, 3.0), (2.0, 0.0, 0.3, 1.0)]
    tasks = stack_tasks([quadratic_task(*s) for s in specs])
    kw = dict(apply_fn=scale_apply, loss_fn=A.mse_loss, num_steps=1, inner_lr=alpha)
    params = {"w": jnp.float32(w)}
    (loss, _), g = jax.value_and_grad(A.maml_meta_batch_loss, has_aux=True)(params, tasks, **kw)
    exp_l, exp_g = [], []
    for a, c, b, d in specs:
        s = 1 - 2 * alpha * a
        w1 = c + s * (w - c)
        exp_l.append(b * (w1 - d) ** 2)
        exp_g.append(2 * b * (w1 - d) * s)
    np.testing.assert_allclose(loss, np.mean(exp_l), rtol=1e-5)
    np.testing.assert_allclose(g["w"], np.mean(exp_g), rtol=1e-5)


def test_maml_gradient_matches_explicit_linear_regression():
    """``w' = w - a g_s(w)``; meta-gradient ``(I - a H_s) g_q(w')`` for MSE regression."""
    rng = np.random.default_rng(0)
    xs, xq = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    ys, yq = rng.normal(size=(6,)), rng.normal(size=(5,))
    w, alpha = rng.normal(size=3), 0.2
    arrays = {"support_x": xs, "support_y": ys, "query_x": xq, "query_y": yq}
    task = {k: jnp.asarray(v, jnp.float32) for k, v in arrays.items()}

    def grad(x, y, v):
        return 2.0 / len(y) * x.T @ (x @ v - y)

    w1 = w - alpha * grad(xs, ys, w)
    hess_s = 2.0 / len(ys) * xs.T @ xs
    expected = (np.eye(3) - alpha * hess_s) @ grad(xq, yq, w1)
    kw = dict(apply_fn=lambda p, x: x @ p, loss_fn=A.mse_loss, num_steps=1, inner_lr=alpha)
    got = jax.grad(lambda p: A.maml_loss(p, task, **kw)[0])(jnp.asarray(w, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_maml_gradient_matches_finite_differences_on_mlp():
    model = SinusoidMLP(hidden_sizes=(8,))
    tasks = sample_sinusoid_tasks(jax.random.key(0), 1, 5, 6)
    with jax.enable_x64(True):
        params = model.init(jax.random.key(1), jnp.zeros((1, 1), jnp.float64))
        flat, unravel = ravel_pytree(jax.tree.map(lambda p: p.astype(jnp.float64), params))
        task = {k: tasks[k][0].astype(jnp.float64) for k in A.TASK_KEYS}
        kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, num_steps=2, inner_lr=0.05)

        @jax.jit
        def check(flat, direction, eps):
            def loss(v, first_order=False):
                return A.maml_loss(unravel(v), task, first_order=first_order, **kw)[0]

            fd = (loss(flat + eps * direction) - loss(flat - eps * direction)) / (2 * eps)
            g2 = jax.grad(loss)(flat)
            g1 = jax.grad(functools.partial(loss, first_order=True))(flat)
            return fd, g2 @ direction, g1 @ direction

        direction = jax.random.normal(jax.random.key(7), flat.shape, jnp.float64)
        fd, second, first = check(flat, direction, 1e-5)
        np.testing.assert_allclose(second, fd, rtol=1e-6)
        assert abs(float(first - fd)) > 1e-3 * abs(float(fd))


def test_remat_matches_no_remat():
    model, params = init_mlp((16, 16))
    tasks = sample_sinusoid_tasks(jax.random.key(1), 3, 5, 5)

    @jax.jit
    def all_variants(params, tasks):
        out = {}
        for first_order in (False, True):
            for remat in (False, True):
                f = functools.partial(
                    A.maml_meta_batch_loss,
                    apply_fn=model.apply,
                    loss_fn=A.mse_loss,
                    num_steps=4,
                    inner_lr=0.01,
                    first_order=first_order,
                    remat=remat,
                )
                out[first_order, remat] = jax.value_and_grad(f, has_aux=True)(params, tasks)
        return out

    out = all_variants(params, tasks)
    for first_order in (False, True):
        (l0, m0), g0 = out[first_order, False]
        (l1, m1), g1 = out[first_order, True]
        np.testing.assert_allclose(l0, l1, rtol=1e-6)
        assert_trees_close(m0, m1, rtol=1e-6)
        assert_trees_close(g0, g1)


def test_remat_memory_does_not_grow_with_activations():
    """Compiled temp memory: with remat only the parameter carry is kept per inner step."""
    model, params = init_mlp((64, 64))
    x = jnp.ones((1024, 1))
    task = {"support_x": x, "support_y": x, "query_x": x, "query_y": x}

    def temp_bytes(remat):
        def f(p):
            return A.maml_loss(
                p,
                task,
                apply_fn=model.apply,
                loss_fn=A.mse_loss,
                num_steps=30,
                inner_lr=0.01,
                remat=remat,
            )[0]

        analysis = jax.jit(jax.grad(f)).lower(params).compile().memory_analysis()
        if analysis is None:
            pytest.skip("memory_analysis is unavailable on this backend")
        return analysis.temp_size_in_bytes

    # 30 steps x several [1024, 64] activations vs 30 x ~4.4k parameters
    plain, remat = temp_bytes(False), temp_bytes(True)
    assert remat < 0.3 * plain, (remat, plain)


# ------------------------------------------------------------------------------ Meta-SGD


def test_metasgd_with_fixed_lr_equals_maml():
    model, params = init_mlp((10, 10))
    tasks = sample_sinusoid_tasks(jax.random.key(1), 4, 5, 5)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, num_steps=2)

    @jax.jit
    def run(params, tasks):
        maml = jax.value_and_grad(A.maml_meta_batch_loss, has_aux=True)(
            params, tasks, inner_lr=0.02, **kw
        )
        metasgd = {
            learn: jax.value_and_grad(A.metasgd_meta_batch_loss, has_aux=True)(
                A.metasgd_init(params, 0.02, learn=learn), tasks, **kw
            )
            for learn in ("log_lr", "lr")
        }
        return maml, metasgd

    ((lm, _), gm), metasgd = run(params, tasks)
    for learn, ((ls, _), gs) in metasgd.items():
        np.testing.assert_allclose(ls, lm, rtol=1e-5)
        assert_trees_close(gs["params"], gm, rtol=1e-4, atol=1e-6)
        # the step sizes are learned jointly
        assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(gs[learn])) > 0
    meta = A.metasgd_init(params, 0.02)
    assert_trees_close(A.metasgd_lr(meta), jax.tree.map(lambda p: jnp.full(p.shape, 0.02), params))


def test_per_param_lr_is_per_parameter():
    params = {"a": jnp.ones(3), "b": jnp.ones(())}
    lr = {"a": jnp.array([0.0, 0.1, 0.2]), "b": jnp.zeros(())}
    adapted, losses = A.inner_adapt(
        params,
        jnp.ones((4, 3)),
        jnp.zeros(4),
        apply_fn=lambda p, x: x @ p["a"] + p["b"],
        loss_fn=A.mse_loss,
        num_steps=1,
        per_param_lr=lr,
    )
    # loss = mean((sum(a) + b)^2) = 16 and its gradient is 2 * 4 = 8 for every a_i and b
    np.testing.assert_allclose(adapted["a"], [1.0, 1.0 - 0.8, 1.0 - 1.6], rtol=1e-6)
    np.testing.assert_allclose(adapted["b"], 1.0)
    np.testing.assert_allclose(losses, [16.0])


# ------------------------------------------------------------------------------ Reptile


@pytest.mark.parametrize("use_query", [True, False])
def test_reptile_direction_matches_analytic(use_query):
    # support a (w - c1)^2, query a (w - c2)^2; their mean is a (w - (c1 + c2) / 2)^2 + const
    a, alpha, k, w = 1.2, 0.1, 5, 0.4
    pairs = [(1.0, 3.0), (-2.0, 0.0)]
    tasks = stack_tasks([quadratic_task(a, c1, a, c2) for c1, c2 in pairs])
    direction, metrics = A.reptile_direction(
        {"w": jnp.float32(w)},
        tasks,
        apply_fn=scale_apply,
        loss_fn=A.mse_loss,
        inner_lr=alpha,
        num_steps=k,
        use_query=use_query,
    )
    shrink = (1 - 2 * alpha * a) ** k
    targets = [(c1 + c2) / 2 if use_query else c1 for c1, c2 in pairs]
    expected = np.mean([(1 - shrink) * (w - t) for t in targets])
    np.testing.assert_allclose(direction["w"], expected, rtol=1e-5)
    assert float(metrics["inner_loss_last"]) < float(metrics["inner_loss_first"])


def test_reptile_outer_steps_with_optax_sgd():
    tasks = stack_tasks([quadratic_task(1.0, 2.0, 1.0, 2.0)])
    params = {"w": jnp.float32(0.0)}
    opt = optax.sgd(0.5)
    state = opt.init(params)
    for _ in range(20):
        direction, _ = A.reptile_direction(
            params, tasks, apply_fn=scale_apply, loss_fn=A.mse_loss, inner_lr=0.1, num_steps=3
        )
        updates, state = opt.update(direction, state)
        params = optax.apply_updates(params, updates)
    # each outer step keeps a fraction 1 - 0.5 (1 - 0.8^3) of the distance to the optimum w = 2
    np.testing.assert_allclose(params["w"], 2.0 - 2.0 * (1 - 0.5 * (1 - 0.8**3)) ** 20, rtol=1e-5)


# ------------------------------------------------------------------------------ ProtoNets


def test_prototypical_loss_hand_built():
    support = jnp.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 4.0]])  # protos (1,0), (0,3)
    support_y = jnp.array([0, 0, 1, 1])
    query = jnp.array([[1.0, 1.0], [0.0, 3.0], [0.0, 3.0]])
    query_y = jnp.array([0, 0, 1])
    logits = A.prototypical_logits(support, support_y, query, num_classes=2)
    np.testing.assert_allclose(logits, [[-1.0, -5.0], [-10.0, 0.0], [-10.0, 0.0]])
    loss, acc = A.prototypical_loss(support, support_y, query, query_y, num_classes=2)
    expected = np.mean([np.log1p(np.exp(-4.0)), np.log1p(np.exp(10.0)), np.log1p(np.exp(-10.0))])
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    np.testing.assert_allclose(acc, 2 / 3, rtol=1e-6)
    # invariant to the order of the support set
    perm = jnp.array([3, 0, 2, 1])
    loss_p, _ = A.prototypical_loss(support[perm], support_y[perm], query, query_y, 2)
    np.testing.assert_allclose(loss_p, loss, rtol=1e-6)


# ------------------------------------------------------------------------------ evaluation


def test_adapt_and_evaluate_metric_fn():
    params = {"w": jnp.float32(0.0)}
    tasks = stack_tasks([quadratic_task(1.0, 1.0, 1.0, 1.0)] * 2)
    res = A.adapt_and_evaluate(
        params,
        tasks,
        [3, 1],
        apply_fn=scale_apply,
        loss_fn=A.mse_loss,
        inner_lr=0.25,
        metric_fn=lambda o, y: {"mean_out": jnp.mean(o)},
    )
    # w_k = 1 - 0.5^k; query loss (w_k - 1)^2
    np.testing.assert_allclose(res["query_loss"], [[0.5**6, 0.5**2]] * 2, rtol=1e-6)
    np.testing.assert_allclose(res["query_mean_out"], [[1 - 0.5**3, 0.5]] * 2, rtol=1e-6)


# ------------------------------------------------------------------------------ errors


def test_errors():
    params = {"w": jnp.float32(0.0)}
    task = quadratic_task(1.0, 1.0, 1.0, 1.0)
    tasks = stack_tasks([task])
    x, y = task["support_x"], task["support_y"]
    kw = dict(apply_fn=scale_apply, loss_fn=A.mse_loss)
    with pytest.raises(ValueError, match="exactly one of inner_lr"):
        A.inner_adapt(params, x, y, num_steps=1, **kw)
    with pytest.raises(ValueError, match="exactly one of inner_lr"):
        A.inner_adapt(params, x, y, num_steps=1, inner_lr=0.1, per_param_lr=params, **kw)
    with pytest.raises(ValueError, match="same pytree structure as params"):
        A.inner_adapt(params, x, y, num_steps=1, per_param_lr={"v": 0.1}, **kw)
    with pytest.raises(ValueError, match=r"per_param_lr leaf at \['w'\] has shape \(2,\)"):
        A.inner_adapt(params, x, y, num_steps=1, per_param_lr={"w": jnp.ones(2)}, **kw)
    with pytest.raises(ValueError, match="num_steps must be >= 0"):
        A.inner_adapt(params, x, y, num_steps=-1, inner_lr=0.1, **kw)
    with pytest.raises(ValueError, match="num_steps must be a Python int"):
        A.inner_adapt(params, x, y, num_steps=1.0, inner_lr=0.1, **kw)
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        A.inner_adapt(
            params, x, y, num_steps=1, inner_lr=0.1, apply_fn=scale_apply, loss_fn=jnp.subtract
        )
    no_query_y = {k: v for k, v in task.items() if k != "query_y"}
    with pytest.raises(ValueError, match=r"task is missing keys \['query_y'\]"):
        A.maml_loss(params, no_query_y, num_steps=1, inner_lr=0.1, **kw)
    ragged = tasks | {"query_y": jnp.concatenate([tasks["query_y"]] * 2)}
    with pytest.raises(ValueError, match="same leading task axis"):
        A.maml_meta_batch_loss(params, ragged, num_steps=1, inner_lr=0.1, **kw)
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        A.reptile_direction(params, tasks, inner_lr=0.1, num_steps=0, **kw)
    with pytest.raises(ValueError, match="steps_list must contain at least one"):
        A.adapt_and_evaluate(params, tasks, (), inner_lr=0.1, **kw)
    with pytest.raises(ValueError, match=r"exactly the keys \{'params', 'log_lr'\}"):
        A.metasgd_lr({"params": params, "log_lr": params, "lr": params})
    with pytest.raises(ValueError, match="inner_lr must be > 0"):
        A.metasgd_init(params, 0.0)
    with pytest.raises(ValueError, match=r"logits \[N, C\] and labels \[N\]"):
        A.cross_entropy_loss(jnp.zeros((3, 2)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match="support_y must have shape"):
        A.prototypical_logits(jnp.zeros((4, 2)), jnp.zeros(3, jnp.int32), jnp.zeros((2, 2)), 2)
