"""The meta-training step shared by the sinusoid and few-shot experiments."""

from __future__ import annotations

import jax
import optax

import frontier
from frontier.experiment import TrainState, health_metrics
from research.meta import algorithms as alg


class MetaExperiment(frontier.Experiment):
    """One meta-step: Reptile's direction, or the gradient of `meta_loss`, then the optimiser.

    Subclasses define `apply(params, x)`, `meta_loss(params, tasks) -> (loss, aux)`,
    `self.optimizer` and `task_loss` (the per-task loss Reptile adapts with), and read
    `config.meta.{algorithm, inner_lr, inner_steps}` (and `task_map`, default "vmap").
    """

    task_loss = staticmethod(alg.mse_loss)

    def step(self, state, batch, key):
        m = self.config.meta
        if m.algorithm == "reptile":
            grads, aux = alg.reptile_direction(
                state.params,
                batch,
                apply_fn=self.apply,
                loss_fn=self.task_loss,
                inner_lr=m.inner_lr,
                num_steps=m.inner_steps,
                task_map=m.get("task_map", "vmap"),
            )
            loss = aux["inner_loss_last"]
        else:
            (loss, aux), grads = jax.value_and_grad(self.meta_loss, has_aux=True)(
                state.params, batch
            )
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, **aux, **health_metrics(grads, params, updates)}
        return TrainState(params, opt_state), metrics
