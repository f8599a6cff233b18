"""Quantum policy (4 qubits, 5 re-uploading layers, PennyLane) trained by PPO on CartPole-v1.

Run:      frontier run configs/rl/cartpole_quantum.py --seeds 8
Expect:   the policy of Jerbi et al. 2021 / Skolik et al. 2022 in our form (research/rl/
          policies.py): 70 parameters (40 rotation angles, 20 input scalings, 2 output
          scalings... see `count_params`), a classical 64x64 critic; PPO as in
          cartpole_ppo.py with Adam 0.01. Compare with cartpole_small_mlp.py (a classical
          policy of similar size). Measured curves: `frontier reproduce rl/cartpole`.
Smoke:    1 layer, 4 updates of 4 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(
        arg,
        steps=300,
        **{"model.actor": "quantum", "optim.learning_rate": 0.01},
    )
