"""Pure-function meta-learning algorithms on parameter pytrees.

Everything here is a pure function of arrays and pytrees, suitable for ``jax.jit`` /
``jax.grad`` / ``jax.vmap``. Models enter only through

* ``apply_fn(params, x) -> outputs`` (e.g. ``model.apply`` of a flax module) and
* ``loss_fn(outputs, y) -> scalar`` (e.g. :func:`mse_loss`, :func:`cross_entropy_loss`),

and optionally ``metric_fn(outputs, y) -> dict[str, scalar]`` for extra query metrics.

A *task* is a mapping with ``support_x [K, ...]``, ``support_y [K, ...]``, ``query_x [Q, ...]``
and ``query_y [Q, ...]``; a *meta-batch* has an extra leading task axis ``T`` on each of these
(other keys, e.g. ``amplitude``, are ignored), as produced by
:func:`research.meta.tasks.sample_sinusoid_tasks` and
:meth:`research.meta.tasks.FewShotSampler.sample`.

Algorithms:

* MAML (Finn et al., 2017), second order or first order (FOMAML): :func:`inner_adapt`,
  :func:`maml_loss`, :func:`maml_meta_batch_loss`.
* Meta-SGD (Li et al., 2017): per-parameter learned inner learning rates,
  :func:`metasgd_init`, :func:`metasgd_meta_batch_loss`.
* Reptile (Nichol et al., 2018): :func:`reptile_direction`.
* Prototypical Networks (Snell et al., 2017): :func:`prototypical_loss`,
  :func:`protonet_loss`, :func:`protonet_meta_batch_loss`.
* Evaluation: :func:`adapt_and_evaluate` (query loss after 0, 1, 5, 10, ... inner steps).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "TASK_KEYS",
    "accuracy",
    "adapt_and_evaluate",
    "classification_metrics",
    "cross_entropy_loss",
    "inner_adapt",
    "maml_loss",
    "maml_meta_batch_loss",
    "metasgd_init",
    "metasgd_lr",
    "metasgd_meta_batch_loss",
    "mse_loss",
    "protonet_loss",
    "protonet_meta_batch_loss",
    "prototypical_logits",
    "prototypical_loss",
    "reptile_direction",
]

Params = Any
"""A pytree of arrays."""
Task = Mapping[str, jax.Array]
ApplyFn = Callable[[Params, jax.Array], jax.Array]
LossFn = Callable[[jax.Array, jax.Array], jax.Array]
MetricFn = Callable[[jax.Array, jax.Array], Mapping[str, jax.Array]]
EmbedFn = Callable[[Params, jax.Array], jax.Array]

TASK_KEYS: tuple[str, ...] = ("support_x", "support_y", "query_x", "query_y")


TASK_MAPS = ("vmap", "map")


def over_tasks(fn: Callable, task_map: str = "vmap", in_axes: tuple = (0,)) -> Callable:
    """Apply `fn` to every task: `jax.vmap` (one batched program, right on accelerators) or
    `jax.lax.map` (a loop over tasks inside the compiled program).

    After adaptation every task has its own weights, so under vmap a convolution becomes a
    grouped convolution, which XLA:CPU runs about 3x slower than a loop of plain ones (measured
    on the Conv-4 few-shot step). Both give the same numbers.
    """
    if task_map == "vmap":
        return jax.vmap(fn, in_axes=in_axes)
    if task_map != "map":
        raise ValueError(f"task_map must be one of {TASK_MAPS}, got {task_map!r}")

    def mapped(*args):
        shared = [a for a, ax in zip(args, in_axes, strict=True) if ax is None]
        mapped_args = tuple(a for a, ax in zip(args, in_axes, strict=True) if ax is not None)

        def one(xs):
            it_shared, it_mapped = iter(shared), iter(xs)
            return fn(*(next(it_shared) if ax is None else next(it_mapped) for ax in in_axes))

        return jax.lax.map(one, mapped_args)

    return mapped


# --------------------------------------------------------------------------------------------
# Losses and metrics
# --------------------------------------------------------------------------------------------


def mse_loss(pred: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared error over all elements; ``pred`` and ``target`` of equal shape."""
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred shape {pred.shape} != target shape {target.shape}")
    return jnp.mean(jnp.square(pred - target))


def cross_entropy_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of ``logits [N, C]`` against integer ``labels [N]``."""
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy_loss expects logits [N, C] and labels [N], got {logits.shape} and "
            f"{labels.shape}"
        )
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None].astype(jnp.int32), axis=-1))


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Fraction of ``argmax(logits [N, C], -1) == labels [N]``."""
    return jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))


def classification_metrics(logits: jax.Array, labels: jax.Array) -> dict[str, jax.Array]:
    """``{"accuracy": ...}``; a ready-made ``metric_fn`` for classification."""
    return {"accuracy": accuracy(logits, labels)}


# --------------------------------------------------------------------------------------------
# Validation helpers (run at trace time on static shapes / structures)
# --------------------------------------------------------------------------------------------


def _check_num_steps(num_steps: object, *, minimum: int = 0) -> int:
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise ValueError(f"num_steps must be a Python int (static), got {num_steps!r}")
    if num_steps < minimum:
        raise ValueError(f"num_steps must be >= {minimum}, got {num_steps}")
    return int(num_steps)


def _check_task(task: Task, *, batched: bool) -> int | None:
    """Check the four task keys exist; for a meta-batch return the shared leading size ``T``."""
    if not isinstance(task, Mapping):
        raise ValueError(f"task must be a mapping with keys {TASK_KEYS}, got {type(task)}")
    missing = [k for k in TASK_KEYS if k not in task]
    if missing:
        raise ValueError(f"task is missing keys {missing}; expected keys {TASK_KEYS}")
    if not batched:
        return None
    leading = {k: (jnp.shape(task[k])[:1] or (None,))[0] for k in TASK_KEYS}
    if len(set(leading.values())) != 1 or None in leading.values():
        raise ValueError(
            "a meta-batch needs the same leading task axis T on support_x, support_y, query_x "
            f"and query_y, got leading sizes {leading}"
        )
    return next(iter(leading.values()))


def _resolve_lr(params: Params, inner_lr: Any, per_param_lr: Params | None) -> Params:
    """Return a pytree of step sizes with the structure of ``params``."""
    if (inner_lr is None) == (per_param_lr is None):
        raise ValueError(
            "pass exactly one of inner_lr (a scalar, MAML) or per_param_lr (a pytree like "
            f"params, Meta-SGD); got inner_lr={inner_lr!r} and per_param_lr="
            f"{'None' if per_param_lr is None else 'a pytree'}"
        )
    if per_param_lr is None:
        if jnp.ndim(inner_lr) != 0:
            raise ValueError(f"inner_lr must be a scalar, got shape {jnp.shape(inner_lr)}")
        return jax.tree.map(lambda _: inner_lr, params)
    p_struct = jax.tree.structure(params)
    lr_struct = jax.tree.structure(per_param_lr)
    if p_struct != lr_struct:
        raise ValueError(
            f"per_param_lr must have the same pytree structure as params; expected {p_struct}, "
            f"got {lr_struct}"
        )
    for (path, p), lr in zip(
        jax.tree_util.tree_leaves_with_path(params), jax.tree.leaves(per_param_lr), strict=True
    ):
        if jnp.shape(lr) not in ((), jnp.shape(p)):
            raise ValueError(
                f"per_param_lr leaf at {jax.tree_util.keystr(path)} has shape "
                f"{jnp.shape(lr)}; expected () or the parameter's shape {jnp.shape(p)}"
            )
    return per_param_lr


def _scalar_loss(loss_fn: LossFn, outputs: jax.Array, y: jax.Array) -> jax.Array:
    loss = loss_fn(outputs, y)
    if jnp.ndim(loss) != 0:
        raise ValueError(f"loss_fn must return a scalar, got shape {jnp.shape(loss)}")
    return loss


def _tree_sub_scaled(params: Params, lr: Params, grads: Params) -> Params:
    return jax.tree.map(lambda p, a, g: p - a * g, params, lr, grads)


# --------------------------------------------------------------------------------------------
# MAML / FOMAML / Meta-SGD
# --------------------------------------------------------------------------------------------


def inner_adapt(
    params: Params,
    support_x: jax.Array,
    support_y: jax.Array,
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    num_steps: int,
    inner_lr: float | jax.Array | None = None,
    per_param_lr: Params | None = None,
    first_order: bool = False,
    remat: bool = False,
) -> tuple[Params, jax.Array]:
    """Run ``num_steps`` full-batch gradient steps on the support set of one task.

    ``theta <- theta - lr * grad L_support(theta)``, with ``lr`` either the scalar ``inner_lr``
    (MAML) or the pytree ``per_param_lr`` (Meta-SGD; leaves of shape ``()`` or the parameter's
    shape). Exactly one of the two must be given. The steps run in ``jax.lax.scan``.

    Differentiating the result w.r.t. ``params`` gives the full second-order MAML gradient;
    ``first_order=True`` wraps the inner gradients in ``jax.lax.stop_gradient`` (FOMAML), so
    ``d adapted / d params`` is the identity (gradients still flow into ``per_param_lr``).

    ``remat=True`` wraps the scanned step in ``jax.checkpoint``: the backward pass recomputes
    each inner step's forward/backward activations instead of storing them, so activation memory
    no longer grows with ``num_steps`` (only the parameter carry, one copy per step, is kept).
    Values and gradients are identical; compute rises by roughly one extra inner step.

    Args:
        params: pytree of parameters.
        support_x: ``[K, ...]`` support inputs.
        support_y: ``[K, ...]`` support targets.
        apply_fn: ``apply_fn(params, x) -> outputs``.
        loss_fn: ``loss_fn(outputs, y) -> scalar``.
        num_steps: static number of inner steps (``0`` returns ``params`` unchanged).
        inner_lr: scalar inner step size.
        per_param_lr: pytree of step sizes like ``params``.
        first_order: drop second-order terms.
        remat: rematerialise the inner steps in the backward pass.

    Returns:
        ``(adapted_params, support_losses [num_steps])`` where ``support_losses[i]`` is the
        support loss *before* step ``i``.
    """
    num_steps = _check_num_steps(num_steps)
    lr = _resolve_lr(params, inner_lr, per_param_lr)

    def support_loss(p: Params) -> jax.Array:
        return _scalar_loss(loss_fn, apply_fn(p, support_x), support_y)

    def step(p: Params, _: None) -> tuple[Params, jax.Array]:
        loss, grads = jax.value_and_grad(support_loss)(p)
        if first_order:
            grads = jax.lax.stop_gradient(grads)
        return _tree_sub_scaled(p, lr, grads), loss

    if remat:
        # prevent_cse=False is safe (and faster) inside scan, per jax.checkpoint's docs.
        step = jax.checkpoint(step, prevent_cse=False)
    return jax.lax.scan(step, params, None, length=num_steps)


def maml_loss(
    params: Params,
    task: Task,
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    num_steps: int,
    inner_lr: float | jax.Array | None = None,
    per_param_lr: Params | None = None,
    first_order: bool = False,
    remat: bool = False,
    metric_fn: MetricFn | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Query loss of one task after :func:`inner_adapt` on its support set.

    Args:
        params: pytree of parameters (the meta-parameters).
        task: mapping with ``support_x [K, ...]``, ``support_y [K, ...]``, ``query_x [Q, ...]``,
            ``query_y [Q, ...]``.
        apply_fn, loss_fn, num_steps, inner_lr, per_param_lr, first_order, remat: as in
            :func:`inner_adapt`.
        metric_fn: optional ``metric_fn(outputs, y) -> dict`` evaluated on the query set after
            adaptation; its entries appear as ``"query_<name>"``.

    Returns:
        ``(query_loss, metrics)``; metrics has scalar ``"query_loss"``, ``"support_loss_pre"``
        (support loss before adaptation, if ``num_steps > 0``) and any ``metric_fn`` entries.
    """
    _check_task(task, batched=False)
    adapted, inner_losses = inner_adapt(
        params,
        task["support_x"],
        task["support_y"],
        apply_fn=apply_fn,
        loss_fn=loss_fn,
        num_steps=num_steps,
        inner_lr=inner_lr,
        per_param_lr=per_param_lr,
        first_order=first_order,
        remat=remat,
    )
    outputs = apply_fn(adapted, task["query_x"])
    loss = _scalar_loss(loss_fn, outputs, task["query_y"])
    metrics = {"query_loss": loss}
    if num_steps > 0:
        metrics["support_loss_pre"] = inner_losses[0]
    if metric_fn is not None:
        metrics.update({f"query_{k}": v for k, v in metric_fn(outputs, task["query_y"]).items()})
    return loss, metrics


def _mean_over_tasks(loss: jax.Array, metrics: dict[str, jax.Array]) -> tuple[jax.Array, dict]:
    return jnp.mean(loss), jax.tree.map(jnp.mean, metrics)


def maml_meta_batch_loss(
    params: Params,
    tasks: Task,
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    num_steps: int,
    inner_lr: float | jax.Array | None = None,
    per_param_lr: Params | None = None,
    first_order: bool = False,
    remat: bool = False,
    metric_fn: MetricFn | None = None,
    task_map: str = "vmap",
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean :func:`maml_loss` over a meta-batch (``jax.vmap`` over the task axis).

    ``tasks`` holds ``support_x [T, K, ...]``, ``support_y [T, K, ...]``,
    ``query_x [T, Q, ...]``, ``query_y [T, Q, ...]``. ``params`` / ``per_param_lr`` are shared
    by all tasks. Use as ``jax.value_and_grad(maml_meta_batch_loss, has_aux=True)``.

    Returns:
        ``(mean query loss, metrics averaged over tasks)``.
    """
    _check_task(tasks, batched=True)
    per_task = functools.partial(
        maml_loss,
        apply_fn=apply_fn,
        loss_fn=loss_fn,
        num_steps=num_steps,
        inner_lr=inner_lr,
        first_order=first_order,
        remat=remat,
        metric_fn=metric_fn,
    )
    task_arrays = {k: tasks[k] for k in TASK_KEYS}
    loss, metrics = over_tasks(
        lambda p, lr, t: per_task(p, t, per_param_lr=lr), task_map, (None, None, 0)
    )(params, per_param_lr, task_arrays)
    return _mean_over_tasks(loss, metrics)


def metasgd_init(params: Params, inner_lr: float, *, learn: str = "log_lr") -> dict[str, Params]:
    """Meta-SGD meta-parameters ``{"params": params, "log_lr" | "lr": pytree like params}``.

    Every step size starts at ``inner_lr``. ``learn="log_lr"`` (default) learns the logarithm
    (step sizes stay positive); ``learn="lr"`` learns raw step sizes as in Li et al. (2017).
    """
    if learn not in ("log_lr", "lr"):
        raise ValueError(f"learn must be 'log_lr' or 'lr', got {learn!r}")
    if learn == "log_lr" and not inner_lr > 0:
        raise ValueError(f"inner_lr must be > 0 to take its log, got {inner_lr}")
    value = float(np.log(inner_lr)) if learn == "log_lr" else float(inner_lr)
    return {
        "params": params,
        learn: jax.tree.map(lambda p: jnp.full(jnp.shape(p), value, jnp.result_type(p)), params),
    }


def metasgd_lr(meta_params: Mapping[str, Params]) -> Params:
    """Per-parameter step sizes of Meta-SGD meta-parameters (``exp(log_lr)`` or ``lr``)."""
    if not isinstance(meta_params, Mapping) or "params" not in meta_params:
        raise ValueError("Meta-SGD meta_params must be a dict with keys 'params' and 'log_lr'/'lr'")
    has = [k for k in ("log_lr", "lr") if k in meta_params]
    if len(has) != 1 or set(meta_params) != {"params", *has}:
        raise ValueError(
            "Meta-SGD meta_params must have exactly the keys {'params', 'log_lr'} or "
            f"{{'params', 'lr'}}, got {sorted(meta_params)}"
        )
    if has[0] == "log_lr":
        return jax.tree.map(jnp.exp, meta_params["log_lr"])
    return meta_params["lr"]


def metasgd_meta_batch_loss(
    meta_params: Mapping[str, Params],
    tasks: Task,
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    num_steps: int,
    first_order: bool = False,
    remat: bool = False,
    metric_fn: MetricFn | None = None,
    task_map: str = "vmap",
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Meta-SGD meta-batch loss: MAML with learned per-parameter step sizes.

    ``meta_params`` is ``{"params": ..., "log_lr": ...}`` or ``{"params": ..., "lr": ...}``
    (see :func:`metasgd_init`); differentiate w.r.t. the whole dict to learn both jointly.
    Other arguments and the return value are as in :func:`maml_meta_batch_loss`.
    """
    lr = metasgd_lr(meta_params)
    return maml_meta_batch_loss(
        meta_params["params"],
        tasks,
        apply_fn=apply_fn,
        loss_fn=loss_fn,
        num_steps=num_steps,
        per_param_lr=lr,
        first_order=first_order,
        remat=remat,
        metric_fn=metric_fn,
        task_map=task_map,
    )


# --------------------------------------------------------------------------------------------
# Reptile
# --------------------------------------------------------------------------------------------


def reptile_direction(
    params: Params,
    tasks: Task,
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    inner_lr: float | jax.Array,
    num_steps: int,
    use_query: bool = True,
    task_map: str = "vmap",
) -> tuple[Params, dict[str, jax.Array]]:
    """Reptile outer-update direction ``params - mean_t(adapted_t)``.

    Each task is adapted with ``num_steps`` full-batch SGD steps (step ``inner_lr``) on its
    support and query sets concatenated along the example axis (support only if
    ``use_query=False``). The direction has the sign of a gradient, so feeding it to a
    gradient-descent optimiser (e.g. ``optax.sgd(outer_lr)``) moves ``params`` towards the
    adapted parameters: ``params <- params - outer_lr * direction``.

    Args:
        params: pytree of parameters.
        tasks: meta-batch with ``support_x [T, K, ...]`` etc.
        apply_fn, loss_fn: as in :func:`inner_adapt`.
        inner_lr: scalar SGD step size.
        num_steps: static number of inner steps (>= 1).
        use_query: also train on the query examples.

    Returns:
        ``(direction, metrics)``; direction is a pytree like ``params``; metrics has the mean
        ``"inner_loss_first"`` / ``"inner_loss_last"`` (loss before the first / last step).
    """
    num_steps = _check_num_steps(num_steps, minimum=1)
    _check_task(tasks, batched=True)
    if use_query:
        xs = jnp.concatenate([tasks["support_x"], tasks["query_x"]], axis=1)
        ys = jnp.concatenate([tasks["support_y"], tasks["query_y"]], axis=1)
    else:
        xs, ys = tasks["support_x"], tasks["support_y"]

    def adapt(x: jax.Array, y: jax.Array) -> tuple[Params, jax.Array]:
        return inner_adapt(
            params,
            x,
            y,
            apply_fn=apply_fn,
            loss_fn=loss_fn,
            num_steps=num_steps,
            inner_lr=inner_lr,
            first_order=True,
        )

    adapted, losses = over_tasks(adapt, task_map, (0, 0))(xs, ys)
    direction = jax.tree.map(lambda p, a: p - jnp.mean(a, axis=0), params, adapted)
    metrics = {
        "inner_loss_first": jnp.mean(losses[:, 0]),
        "inner_loss_last": jnp.mean(losses[:, -1]),
    }
    return direction, metrics


# --------------------------------------------------------------------------------------------
# Prototypical Networks
# --------------------------------------------------------------------------------------------


def prototypical_logits(
    support_emb: jax.Array, support_y: jax.Array, query_emb: jax.Array, num_classes: int
) -> jax.Array:
    """Negative squared Euclidean distances from queries to class prototypes.

    Prototype ``c`` is the mean of the support embeddings with label ``c``. Every class in
    ``0 .. num_classes - 1`` must occur in ``support_y`` (an empty class gets a zero prototype;
    this cannot be checked under jit).

    Args:
        support_emb: ``[S, D]`` support embeddings.
        support_y: ``[S]`` integer labels in ``0 .. num_classes - 1``.
        query_emb: ``[Q, D]`` query embeddings.
        num_classes: static number of classes ``C``.

    Returns:
        ``[Q, C]`` logits ``-||query - prototype_c||^2``.
    """
    if support_emb.ndim != 2 or query_emb.ndim != 2:
        raise ValueError(
            f"embeddings must be [N, D]; got support {support_emb.shape}, query {query_emb.shape}"
        )
    if support_emb.shape[1] != query_emb.shape[1]:
        raise ValueError(
            f"support and query embedding widths differ: {support_emb.shape[1]} vs "
            f"{query_emb.shape[1]}"
        )
    if support_y.shape != support_emb.shape[:1]:
        raise ValueError(
            f"support_y must have shape [S] = {support_emb.shape[:1]}, got {support_y.shape}"
        )
    one_hot = jax.nn.one_hot(support_y, num_classes, dtype=support_emb.dtype)  # [S, C]
    counts = jnp.maximum(jnp.sum(one_hot, axis=0), 1.0)  # [C]
    prototypes = (one_hot.T @ support_emb) / counts[:, None]  # [C, D]
    sq_dist = jnp.sum(jnp.square(query_emb[:, None, :] - prototypes[None, :, :]), axis=-1)
    return -sq_dist


def prototypical_loss(
    support_emb: jax.Array,
    support_y: jax.Array,
    query_emb: jax.Array,
    query_y: jax.Array,
    num_classes: int,
) -> tuple[jax.Array, jax.Array]:
    """ProtoNets loss and accuracy from embeddings (shapes as in :func:`prototypical_logits`).

    Returns:
        ``(loss, accuracy)``: mean negative log-softmax (over negative squared distances) of the
        true class ``query_y [Q]``, and the fraction of queries whose nearest prototype is right.
    """
    logits = prototypical_logits(support_emb, support_y, query_emb, num_classes)
    return cross_entropy_loss(logits, query_y), accuracy(logits, query_y)


def protonet_loss(
    params: Params, task: Task, *, embed_fn: EmbedFn, num_classes: int
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """ProtoNets loss of one task; ``embed_fn(params, x [N, ...]) -> [N, D]``.

    Returns:
        ``(loss, {"query_loss", "query_accuracy"})``.
    """
    _check_task(task, batched=False)
    # One forward pass over support and query together: with per-batch normalisation
    # (Conv4's norm="batch") separate passes would normalise the two sets differently.
    n = task["support_x"].shape[0]
    both = embed_fn(params, jnp.concatenate([task["support_x"], task["query_x"]]))
    support_emb, query_emb = both[:n], both[n:]
    loss, acc = prototypical_loss(
        support_emb, task["support_y"], query_emb, task["query_y"], num_classes
    )
    return loss, {"query_loss": loss, "query_accuracy": acc}


def protonet_meta_batch_loss(
    params: Params, tasks: Task, *, embed_fn: EmbedFn, num_classes: int
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean :func:`protonet_loss` over a meta-batch (``jax.vmap`` over the task axis)."""
    _check_task(tasks, batched=True)
    task_arrays = {k: tasks[k] for k in TASK_KEYS}
    loss, metrics = jax.vmap(
        lambda t: protonet_loss(params, t, embed_fn=embed_fn, num_classes=num_classes)
    )(task_arrays)
    return _mean_over_tasks(loss, metrics)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def adapt_and_evaluate(
    params: Params,
    tasks: Task,
    steps_list: Sequence[int] = (1, 5, 10),
    *,
    apply_fn: ApplyFn,
    loss_fn: LossFn,
    inner_lr: float | jax.Array | None = None,
    per_param_lr: Params | None = None,
    metric_fn: MetricFn | None = None,
    task_map: str = "vmap",
) -> dict[str, Any]:
    """Per-task query loss after each number of inner steps in ``steps_list``.

    Runs ``max(steps_list)`` inner steps once per task (``jax.lax.scan``, no meta-gradients),
    evaluating the query set after every step, and picks the requested step counts. Include
    ``0`` in ``steps_list`` for the pre-adaptation loss.

    Args:
        params: pytree of (meta-)parameters.
        tasks: meta-batch with ``support_x [T, K, ...]`` etc.
        steps_list: non-empty sequence of non-negative step counts ``[S]``.
        apply_fn, loss_fn, inner_lr, per_param_lr: as in :func:`inner_adapt`.
        metric_fn: optional query metrics, reported as ``"query_<name>" [T, S]``.

    Returns:
        ``{"steps": int array [S], "query_loss": [T, S], ...}``.
    """
    steps = [_check_num_steps(s) for s in steps_list]
    if not steps:
        raise ValueError("steps_list must contain at least one step count, got an empty sequence")
    _check_task(tasks, batched=True)
    max_steps = max(steps)
    lr = _resolve_lr(params, inner_lr, per_param_lr)

    def per_task(params: Params, lr: Params, task: Task) -> dict[str, jax.Array]:
        def evaluate(p: Params) -> dict[str, jax.Array]:
            outputs = apply_fn(p, task["query_x"])
            out = {"query_loss": _scalar_loss(loss_fn, outputs, task["query_y"])}
            if metric_fn is not None:
                out.update(
                    {f"query_{k}": v for k, v in metric_fn(outputs, task["query_y"]).items()}
                )
            return out

        def support_loss(p: Params) -> jax.Array:
            return _scalar_loss(loss_fn, apply_fn(p, task["support_x"]), task["support_y"])

        def step(p: Params, _: None) -> tuple[Params, dict[str, jax.Array]]:
            p = _tree_sub_scaled(p, lr, jax.grad(support_loss)(p))
            return p, evaluate(p)

        _, trajectory = jax.lax.scan(step, params, None, length=max_steps)
        initial = evaluate(params)
        full = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), initial, trajectory)
        return jax.tree.map(lambda a: a[np.asarray(steps)], full)

    task_arrays = {k: tasks[k] for k in TASK_KEYS}
    results = jax.jit(over_tasks(per_task, task_map, (None, None, 0)))(params, lr, task_arrays)
    return {"steps": np.asarray(steps), **results}
