"""PPO on gymnax CartPole-v1 with PureJaxRL's hyper-parameters (64x64 tanh actor and critic).

Run:      frontier run configs/rl/cartpole_ppo.py --seeds 8
Expect:   4 envs x 128 steps per update, 4 epochs x 4 minibatches, Adam 2.5e-4 annealed,
          976 updates = 5e5 env steps. Measured (8 seeds, 66 s on 2 shared cores): final
          eval return 359 ± 114, every seed passes 475 at some point (median 88k steps) but
          the mean over seeds does not stay there (README, rl/cartpole).
Smoke:    4 updates of 4 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(arg)
