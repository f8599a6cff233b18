"""REINFORCE with a learned value baseline on gymnax CartPole-v1 (the simplest reference).

Run:      frontier run configs/rl/cartpole_reinforce.py --seeds 8
Expect:   4 envs x 128 steps per update, one Adam (1e-3) step per update on
          -log pi (G - V), returns bootstrapped only where the rollout cuts an episode;
          1000 updates = 5.1e5 env steps. Measured (8 seeds, about a minute): final eval
          return 412 ± 24; slower to rise than PPO, steadier at the end (README).
Smoke:    4 updates of 4 x 16 steps.
"""

from research.rl.configs import reinforce_config


def get_config(arg=None):
    return reinforce_config(arg)
