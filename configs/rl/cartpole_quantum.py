"""Quantum policy (4 qubits, 5 re-uploading layers, PennyLane) trained by PPO on CartPole-v1.

Run:      frontier run configs/rl/cartpole_quantum.py --seeds 8
Expect:   the data re-uploading policy of Jerbi et al. 2021 in our form (research/rl/
          policies.py): 70 parameters (48 rotation angles, 20 input scalings, 2 output
          scalings), a classical 64x64 critic; PPO as in cartpole_ppo.py, Adam 0.01 for the
          circuit and 2.5e-4 for the critic, 304 updates = 1.56e5 env steps. Compare with
          cartpole_small_mlp.py (a 72-parameter classical actor). Measured (8 seeds, about
          2.5 minutes on 2 shared cores): final eval return 344 ± 105 (README, rl/cartpole).
Smoke:    1 layer, 4 updates of 4 x 16 steps.
"""

from research.rl.configs import ppo_config


def get_config(arg=None):
    return ppo_config(
        arg,
        steps=304,
        **{"model.actor": "quantum", "optim.learning_rate": 0.01},
    )
