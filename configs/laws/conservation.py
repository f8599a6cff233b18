"""Conserved quantities from simulated motion (Schmidt & Lipson 2009), one system per run.

Run:      frontier run configs/laws/conservation.py:pendulum   # one system, its variant
          frontier reproduce laws/conservation   # harmonic, pendulum, coupled, double pendulum
Expect:   population 1000, 400 rows, 1% position noise, Savitzky-Golay window 141, order 7;
          closed-form term weights inside the search (`refine`). Variants per system
          (research/laws/configs.py, CONSERVATION_SYSTEMS): 150 generations with the pair-ratio
          fitness and conjugate-pair terms; the double pendulum 1000 generations with the
          scale-relative `rates` fitness. Measured 7 min 39 s for all four systems on 2 idle
          cores: the energy is found for the harmonic oscillator (v^2 + 1.99 x^2), the
          pendulum (omega^2 - 19.2 cos(theta)) and the coupled oscillators (v1^2 + v2^2 +
          1.51 x1^2 - 0.991 x1 x2 + 1.47 x2^2); not for the double pendulum (small-angle forms,
          |r| 0.987; README says why).
"""

from research.laws.configs import conservation_config


def get_config(arg=None):
    return conservation_config(arg, system="harmonic", generations=150)
