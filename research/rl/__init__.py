"""rl: reinforcement learning on gymnax environments, whole training runs as one program.

`envs.py` (gymnax environments vmapped over copies), `policies.py` (MLPs and a data
re-uploading quantum policy in PennyLane), `agents.py` (PPO, REINFORCE with a baseline, DQN
as loop steps with the rollouts inside), `reproduce.py` (`frontier reproduce rl/cartpole`,
`rl/acrobot`).

    frontier run configs/rl/cartpole_ppo.py --seeds 8
    frontier reproduce rl/cartpole
"""

from research.rl import agents, reproduce  # noqa: F401  (registers)
