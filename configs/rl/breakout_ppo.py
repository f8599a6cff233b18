"""PPO on MinAtar Breakout (gymnax Breakout-MinAtar, 10x10x4 grids flattened into an MLP).

Run:      frontier run configs/rl/breakout_ppo.py --seeds 2
Expect:   16 envs x 128 steps, 4 epochs x 8 minibatches, 64x64 tanh, Adam 5e-4;
          248 updates = 5.1e5 env steps; the return rises above the random policy's (about 1).
Smoke:    4 updates of 16 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(
        arg,
        env="Breakout-MinAtar",
        steps=248,
        **{
            "env.num_envs": 16,
            "algo.minibatches": 8,
            "optim.learning_rate": 5e-4,
            "optim.critic_learning_rate": 5e-4,
        },
    )
