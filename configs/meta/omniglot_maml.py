"""MAML on Omniglot 5-way 1-shot (bring the data: it cannot be downloaded here).

Needs the standard Omniglot folders images_background/ and images_evaluation/ under ROOT.
MAML split (1200 train / 423 test characters, rotations as classes, 28x28); --set
data.split=vinyals for 1028/172/423.

Run:      frontier run configs/meta/omniglot_maml.py --set data.root=ROOT
Expect:   the paper reports MAML 98.7 ± 0.4% 5-way 1-shot accuracy
          (99.9 / 99.7 5-shot with --set meta.shots=5). Not run here: no Omniglot on this machine.
"""

from research.meta.configs import fewshot_config


def get_config(arg=None):
    cfg = fewshot_config("maml", arg, source="omniglot")
    cfg.meta.meta_batch = 4 if arg == "smoke" else 32
    if arg != "smoke":
        cfg.train.steps = 60_000
        cfg.train.eval_every = 5000
        cfg.train.checkpoint_every = 5000
    return cfg
