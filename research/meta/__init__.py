"""Meta-learning core for Frontier: task samplers, Omniglot loader, models and pure-function
algorithms (MAML / FOMAML, Meta-SGD, Reptile, Prototypical Networks).

Submodules are imported explicitly (``from research.meta import algorithms``); this package
imports nothing heavy on its own.
"""

from research.meta import fewshot, reproduce, sinusoid  # noqa: E402,F401  (registers)
