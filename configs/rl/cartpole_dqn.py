"""DQN on gymnax CartPole-v1: replay buffer on the device, target network, epsilon schedule.

Run:      frontier run configs/rl/cartpole_dqn.py --seeds 8
Expect:   8 envs x 5 steps then 4 Adam steps (batch 128) per loop step, buffer 10,000,
          learning after 10,000 env steps, target copied every 50 gradient steps, epsilon
          1 -> 0.05 over 1e5 env steps; 5000 loop steps = 2e5 env steps. Measured (8 seeds,
          about 90 s on 2 shared cores): final eval return 355 ± 51 (README, rl/cartpole).
Smoke:    4 loop steps, buffer 400.
"""

from research.rl.configs import dqn_config


def get_config(arg=None):
    return dqn_config(arg)
