"""DQN on gymnax Acrobot-v1.

Run:      frontier run configs/rl/acrobot_dqn.py --seeds 8
Expect:   the CartPole DQN settings, 2500 loop steps = 1e5 env steps, epsilon over 5e4;
          the return rises from -500 towards about -100 (`frontier reproduce rl/acrobot`).
Smoke:    4 loop steps, buffer 400.
"""

from research.rl.configs import dqn_config


def get_config(arg=None):
    return dqn_config(arg, env="Acrobot-v1", steps=2500, **{"algo.epsilon_decay_steps": 50000})
