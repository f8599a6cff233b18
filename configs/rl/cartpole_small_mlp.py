"""A classical actor the size of the quantum one (4-10-2 tanh MLP, 72 parameters), PPO.

Run:      frontier run configs/rl/cartpole_small_mlp.py --seeds 8
Expect:   the same PPO, critic and learning rates as cartpole_quantum.py (actor Adam 0.01,
          critic 2.5e-4) and the same 304 updates, so the two actors are compared at equal
          budgets. Measured (8 seeds): final eval return 357 ± 101 (README, rl/cartpole).
Smoke:    4 updates of 4 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(
        arg,
        steps=304,
        **{"model.actor_hidden": (10,), "optim.learning_rate": 0.01},
    )
