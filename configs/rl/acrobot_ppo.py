"""PPO on gymnax Acrobot-v1 (reward -1 per step, episodes of at most 500 steps).

Run:      frontier run configs/rl/acrobot_ppo.py --seeds 8
Expect:   the CartPole PPO settings; 488 updates = 2.5e5 env steps. The return rises from
          -500 (never swinging up) towards about -100; see `frontier reproduce rl/acrobot`.
Smoke:    4 updates of 4 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(arg, env="Acrobot-v1", steps=488)
