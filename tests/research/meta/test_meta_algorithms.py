"""Tests for research.meta.algorithms (MAML, FOMAML, Meta-SGD, Reptile, ProtoNets, eval)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from research.meta import algorithms as A
from research.meta.models import Conv4, SinusoidMLP
from research.meta.tasks import FewShotSampler, digits_fewshot_split, sample_sinusoid_tasks


def scale_apply(params, x):
    """1-parameter model ``y = w * x``."""
    return params["w"] * x


def quadratic_task(a, c, b, d, k=4):
    """Support loss a*(w-c)^2 and query loss b*(w-d)^2 via the MSE of ``w * x``."""
    sa, sb = np.sqrt(a), np.sqrt(b)
    return {
        "support_x": jnp.full((k, 1), sa),
        "support_y": jnp.full((k, 1), sa * c),
        "query_x": jnp.full((k, 1), sb),
        "query_y": jnp.full((k, 1), sb * d),
    }


def stack_tasks(tasks):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)


# ------------------------------------------------------------------------------ MAML


@pytest.mark.parametrize("num_steps", [1, 3])
def test_maml_gradient_matches_analytic_on_quadratic(num_steps):
    a, c, b, d, alpha, w = 1.5, 2.0, 0.7, -1.0, 0.1, 0.3
    task = quadratic_task(a, c, b, d)
    params = {"w": jnp.float32(w)}
    kw = dict(apply_fn=scale_apply, loss_fn=A.mse_loss, num_steps=num_steps, inner_lr=alpha)

    shrink = 1.0 - 2.0 * alpha * a  # d w' / d w for one step on a*(w-c)^2
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
    """w' = w - a*g_s(w); meta-grad = (I - a*H_s) g_q(w') for MSE linear regression."""
    rng = np.random.default_rng(0)
    xs, xq = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    ys, yq = rng.normal(size=(6,)), rng.normal(size=(5,))
    w, alpha = rng.normal(size=3), 0.2
    task = {k: jnp.asarray(v, jnp.float32) for k, v in
            {"support_x": xs, "support_y": ys, "query_x": xq, "query_y": yq}.items()}  # fmt: skip
    apply_fn = lambda p, x: x @ p  # noqa: E731
    grad = lambda x, y, v: 2.0 / len(y) * x.T @ (x @ v - y)  # noqa: E731
    w1 = w - alpha * grad(xs, ys, w)
    hess_s = 2.0 / len(ys) * xs.T @ xs
    expected = (np.eye(3) - alpha * hess_s) @ grad(xq, yq, w1)
    got = jax.grad(
        lambda p: A.maml_loss(
            p, task, apply_fn=apply_fn, loss_fn=A.mse_loss, num_steps=1, inner_lr=alpha
        )[0]
    )(jnp.asarray(w, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_maml_gradient_matches_finite_differences_on_mlp():
    model = SinusoidMLP(hidden_sizes=(8,))
    task = jax.tree.map(lambda t: t[0], sample_sinusoid_tasks(jax.random.key(0), 1, 5, 6))
    task = {k: task[k] for k in A.TASK_KEYS}
    with jax.enable_x64(True):
        params = model.init(jax.random.key(1), jnp.zeros((1, 1)))
        params = jax.tree.map(lambda p: p.astype(jnp.float64), params)
        task64 = jax.tree.map(lambda t: t.astype(jnp.float64), task)
        kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, num_steps=2, inner_lr=0.05)
        loss = jax.jit(lambda p, fo: A.maml_loss(p, task64, first_order=fo, **kw)[0],
                       static_argnums=1)  # fmt: skip
        g2 = jax.grad(loss)(params, False)
        g1 = jax.grad(loss)(params, True)
        direction = jax.tree.map(
            lambda p, k: jax.random.normal(k, p.shape, jnp.float64),
            params,
            dict(zip(["params"], [jax.tree.map(lambda _: jax.random.key(7), params["params"])])),
        )
        eps = 1e-5
        shift = lambda s: jax.tree.map(lambda p, v: p + s * v, params, direction)  # noqa: E731
        fd = (loss(shift(eps), False) - loss(shift(-eps), False)) / (2 * eps)
        dot = lambda g: sum(jnp.vdot(x, y) for x, y in  # noqa: E731
                            zip(jax.tree.leaves(g), jax.tree.leaves(direction)))  # fmt: skip
        np.testing.assert_allclose(dot(g2), fd, rtol=1e-6)
        assert abs(float(dot(g1) - fd)) > 1e-3 * abs(float(fd))


def test_remat_matches_no_remat():
    model = SinusoidMLP(hidden_sizes=(16, 16))
    params = model.init(jax.random.key(0), jnp.zeros((1, 1)))
    tasks = sample_sinusoid_tasks(jax.random.key(1), 3, 5, 5)
    for first_order in (False, True):
        out = []
        for remat in (False, True):
            f = functools.partial(A.maml_meta_batch_loss, apply_fn=model.apply, loss_fn=A.mse_loss,
                                  num_steps=4, inner_lr=0.01, first_order=first_order,
                                  remat=remat)  # fmt: skip
            out.append(jax.jit(jax.value_and_grad(f, has_aux=True))(params, tasks))
        (l0, _), g0 = out[0]
        (l1, _), g1 = out[1]
        np.testing.assert_allclose(l0, l1, rtol=1e-6)
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7), g0, g1)


def test_remat_memory_does_not_grow_with_activations():
    """Compiled temp memory: remat stores only the parameter carry per inner step."""
    model = SinusoidMLP(hidden_sizes=(64, 64))
    params = model.init(jax.random.key(0), jnp.zeros((1, 1)))
    x = jnp.ones((1024, 1))
    task = {"support_x": x, "support_y": x, "query_x": x, "query_y": x}

    def temp_bytes(remat, steps):
        f = lambda p: A.maml_loss(p, task, apply_fn=model.apply, loss_fn=A.mse_loss,  # noqa: E731
                                  num_steps=steps, inner_lr=0.01, remat=remat)[0]  # fmt: skip
        analysis = jax.jit(jax.grad(f)).lower(params).compile().memory_analysis()
        if analysis is None:
            pytest.skip("memory_analysis unavailable on this backend")
        return analysis.temp_size_in_bytes

    plain, remat = temp_bytes(False, 30), temp_bytes(True, 30)
    # 30 steps x (1024 x 64 activations, several per step) vs 30 x ~4.4k params
    assert remat < 0.3 * plain, (remat, plain)


# ------------------------------------------------------------------------------ Meta-SGD


def test_metasgd_with_fixed_lr_equals_maml():
    model = SinusoidMLP(hidden_sizes=(10, 10))
    params = model.init(jax.random.key(0), jnp.zeros((1, 1)))
    tasks = sample_sinusoid_tasks(jax.random.key(1), 4, 5, 5)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, num_steps=2)
    (lm, _), gm = jax.value_and_grad(A.maml_meta_batch_loss, has_aux=True)(
        params, tasks, inner_lr=0.02, **kw
    )
    for learn in ("log_lr", "lr"):
        meta = A.metasgd_init(params, 0.02, learn=learn)
        np.testing.assert_allclose(
            jax.tree.leaves(A.metasgd_lr(meta))[0], 0.02, rtol=1e-6
        )
        (ls, _), gs = jax.value_and_grad(A.metasgd_meta_batch_loss, has_aux=True)(meta, tasks, **kw)
        np.testing.assert_allclose(ls, lm, rtol=1e-5)
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6),
                     gs["params"], gm)  # fmt: skip
        # the step sizes are learned too
        assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(gs[learn]))


def test_per_param_lr_is_per_parameter():
    params = {"a": jnp.ones(3), "b": jnp.ones(())}
    apply_fn = lambda p, x: x @ p["a"] + p["b"]  # noqa: E731
    x, y = jnp.ones((4, 3)), jnp.zeros(4)
    lr = {"a": jnp.array([0.0, 0.1, 0.2]), "b": jnp.zeros(())}
    adapted, losses = A.inner_adapt(params, x, y, apply_fn=apply_fn, loss_fn=A.mse_loss,
                                    num_steps=1, per_param_lr=lr)  # fmt: skip
    # grad of mean((sum(a) + b)^2) = 2 * 4 = 8 for every a_i and b
    np.testing.assert_allclose(adapted["a"], [1.0, 1.0 - 0.8, 1.0 - 1.6], rtol=1e-6)
    np.testing.assert_allclose(adapted["b"], 1.0)
    np.testing.assert_allclose(losses, [16.0])


# ------------------------------------------------------------------------------ Reptile


@pytest.mark.parametrize("use_query", [True, False])
def test_reptile_direction_matches_analytic(use_query):
    # support loss a(w-c1)^2, query loss a(w-c2)^2; combined mean = a(w - (c1+c2)/2)^2 + const
    a, alpha, k, w = 1.2, 0.1, 5, 0.4
    pairs = [(1.0, 3.0), (-2.0, 0.0)]
    tasks = stack_tasks([quadratic_task(a, c1, a, c2) for c1, c2 in pairs])
    direction, metrics = A.reptile_direction(
        {"w": jnp.float32(w)}, tasks, apply_fn=scale_apply, loss_fn=A.mse_loss,
        inner_lr=alpha, num_steps=k, use_query=use_query,
    )  # fmt: skip
    shrink = (1 - 2 * alpha * a) ** k
    targets = [(c1 + c2) / 2 if use_query else c1 for c1, c2 in pairs]
    expected = np.mean([(1 - shrink) * (w - t) for t in targets])
    np.testing.assert_allclose(direction["w"], expected, rtol=1e-5)
    assert float(metrics["inner_loss_last"]) < float(metrics["inner_loss_first"])


def test_reptile_outer_step_moves_towards_task_optimum():
    tasks = stack_tasks([quadratic_task(1.0, 2.0, 1.0, 2.0)])
    params = {"w": jnp.float32(0.0)}
    opt = optax.sgd(0.5)
    state = opt.init(params)
    for _ in range(20):
        direction, _ = A.reptile_direction(params, tasks, apply_fn=scale_apply,
                                           loss_fn=A.mse_loss, inner_lr=0.1, num_steps=3)  # fmt: skip
        updates, state = opt.update(direction, state)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(params["w"], 2.0, atol=1e-3)


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


def test_protonet_meta_batch_with_conv4_on_digits():
    tr_x, tr_y, _, _ = digits_fewshot_split()
    batch = FewShotSampler(tr_x, tr_y, num_ways=3, num_shots=2, num_queries=3, seed=0).sample(0, 2)
    model = Conv4(num_classes=3, num_filters=8, pool_padding="SAME", norm="layer")
    params = model.init(jax.random.key(0), batch["support_x"][0])
    embed_fn = lambda p, x: model.apply(p, x, method="embed")  # noqa: E731
    f = functools.partial(A.protonet_meta_batch_loss, embed_fn=embed_fn, num_classes=3)
    (loss, metrics), grads = jax.jit(jax.value_and_grad(f, has_aux=True))(params, batch)
    assert np.isfinite(float(loss)) and 0.0 <= float(metrics["query_accuracy"]) <= 1.0
    assert "head" in grads["params"]  # present (zero) even though the head is unused
    assert float(jnp.abs(grads["params"]["conv_0"]["kernel"]).max()) > 0
    # same numbers as looping protonet_loss over tasks
    per_task = [A.protonet_loss(params, jax.tree.map(lambda t, i=i: t[i], batch),
                                embed_fn=embed_fn, num_classes=3)[0] for i in range(2)]  # fmt: skip
    np.testing.assert_allclose(loss, np.mean(per_task), rtol=1e-5)


# ------------------------------------------------------------------------------ evaluation


def test_adapt_and_evaluate_matches_inner_adapt():
    model = SinusoidMLP(hidden_sizes=(12, 12))
    params = model.init(jax.random.key(0), jnp.zeros((1, 1)))
    tasks = sample_sinusoid_tasks(jax.random.key(2), 3, 10, 7)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, inner_lr=0.01)
    res = A.adapt_and_evaluate(params, tasks, (0, 1, 5, 10), **kw)
    np.testing.assert_array_equal(res["steps"], [0, 1, 5, 10])
    assert res["query_loss"].shape == (3, 4)
    for t in range(3):
        task = jax.tree.map(lambda a, t=t: a[t], tasks)
        for j, steps in enumerate((0, 1, 5, 10)):
            adapted, _ = A.inner_adapt(params, task["support_x"], task["support_y"],
                                       num_steps=steps, **kw)  # fmt: skip
            expected = A.mse_loss(model.apply(adapted, task["query_x"]), task["query_y"])
            np.testing.assert_allclose(res["query_loss"][t, j], expected, rtol=1e-5)


def test_adapt_and_evaluate_metric_fn():
    params = {"w": jnp.float32(0.0)}
    tasks = stack_tasks([quadratic_task(1.0, 1.0, 1.0, 1.0)] * 2)
    res = A.adapt_and_evaluate(params, tasks, [3, 1], apply_fn=scale_apply, loss_fn=A.mse_loss,
                               inner_lr=0.25, metric_fn=lambda o, y: {"mean_out": jnp.mean(o)})  # fmt: skip
    # w_k = 1 - 0.5^k; query loss (w_k - 1)^2
    np.testing.assert_allclose(res["query_loss"], [[0.5**6, 0.5**2]] * 2, rtol=1e-6)
    np.testing.assert_allclose(res["query_mean_out"], [[1 - 0.5**3, 0.5]] * 2, rtol=1e-6)


# ------------------------------------------------------------------------------ training


def test_maml_training_reduces_post_adaptation_loss():
    model = SinusoidMLP()
    params = model.init(jax.random.key(0), jnp.zeros((1, 1)))
    opt = optax.adam(1e-3)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, num_steps=1, inner_lr=0.01)
    sample = functools.partial(sample_sinusoid_tasks, num_tasks=10, num_support=10, num_query=10)
    loss_fn = functools.partial(A.maml_meta_batch_loss, **kw)

    def train(carry, key):
        params, state = carry
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, sample(key))
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    keys = jax.random.split(jax.random.key(1), 400)
    (trained, _), _ = jax.jit(lambda c, k: jax.lax.scan(train, c, k))((params, opt.init(params)), keys)
    eval_tasks = sample_sinusoid_tasks(jax.random.key(99), 50, 10, 50)
    before = A.adapt_and_evaluate(params, eval_tasks, (1,), **kw)["query_loss"].mean()
    after = A.adapt_and_evaluate(trained, eval_tasks, (1,), **kw)["query_loss"].mean()
    assert after < 0.6 * before, (float(before), float(after))


def test_fomaml_and_maml_with_conv4_on_digits():
    tr_x, tr_y, _, _ = digits_fewshot_split()
    batch = FewShotSampler(tr_x, tr_y, num_ways=3, num_shots=1, num_queries=2, seed=3).sample(0, 2)
    model = Conv4(num_classes=3, num_filters=8, pool_padding="SAME")
    params = model.init(jax.random.key(0), batch["support_x"][0])
    grads = {}
    for fo in (False, True):
        f = functools.partial(A.maml_meta_batch_loss, apply_fn=model.apply,
                              loss_fn=A.cross_entropy_loss, num_steps=2, inner_lr=0.4,
                              first_order=fo, metric_fn=A.classification_metrics)  # fmt: skip
        (loss, metrics), grads[fo] = jax.jit(jax.value_and_grad(f, has_aux=True))(params, batch)
        assert np.isfinite(float(loss)) and "query_accuracy" in metrics
    diff = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), grads[False], grads[True])
    assert max(jax.tree.leaves(diff)) > 1e-6


# ------------------------------------------------------------------------------ errors


def test_errors():
    params = {"w": jnp.float32(0.0)}
    task = quadratic_task(1.0, 1.0, 1.0, 1.0)
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
        A.inner_adapt(params, x, y, num_steps=1, inner_lr=0.1, apply_fn=scale_apply,
                      loss_fn=lambda o, t: (o - t) ** 2)  # fmt: skip
    with pytest.raises(ValueError, match=r"task is missing keys \['query_y'\]"):
        A.maml_loss(params, {k: v for k, v in task.items() if k != "query_y"}, num_steps=1,
                    inner_lr=0.1, **kw)  # fmt: skip
    with pytest.raises(ValueError, match="same leading task axis"):
        A.maml_meta_batch_loss(params, task | {"query_y": task["query_y"][:2]}, num_steps=1,
                               inner_lr=0.1, **kw)  # fmt: skip
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        A.reptile_direction(params, stack_tasks([task]), inner_lr=0.1, num_steps=0, **kw)
    with pytest.raises(ValueError, match="steps_list must contain at least one"):
        A.adapt_and_evaluate(params, stack_tasks([task]), (), inner_lr=0.1, **kw)
    with pytest.raises(ValueError, match=r"exactly the keys \{'params', 'log_lr'\}"):
        A.metasgd_lr({"params": params, "log_lr": params, "lr": params})
    with pytest.raises(ValueError, match="inner_lr must be > 0"):
        A.metasgd_init(params, 0.0)
    with pytest.raises(ValueError, match=r"logits \[N, C\] and labels \[N\]"):
        A.cross_entropy_loss(jnp.zeros((3, 2)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match="support_y must have shape"):
        A.prototypical_logits(jnp.zeros((4, 2)), jnp.zeros(3, jnp.int32), jnp.zeros((2, 2)), 2)
