"""Frontier: one shared, jit-compiled JAX library under the research modules.

The one idea: every method is `step(state, batch, key) -> (state, metrics)` over a pytree
state, run by `frontier.loop.train`. See README.md and DESIGN.md.
"""

from frontier.experiment import Experiment, TrainState, make_optimizer, optax_step
from frontier.registry import experiment, reproduction

__all__ = ["Experiment", "TrainState", "experiment", "make_optimizer", "optax_step", "reproduction"]
__version__ = "0.1.0"
