"""Conserved quantities from simulated motion (Schmidt & Lipson 2009), one system per run.

Run:      frontier run configs/laws/conservation.py:pendulum   # one system, its variant
          frontier reproduce laws/conservation   # harmonic, pendulum, coupled, double pendulum
Expect:   population 1000, 400 rows, 1% position noise, Savitzky-Golay window 141, order 7;
          closed-form term weights inside the search (`refine`). Variants per system
          (research/laws/configs.py, CONSERVATION_SYSTEMS): 150 generations with the pair-ratio
          fitness and conjugate-pair terms; the double pendulum 1000 generations with the
          scale-relative `rates` fitness. Measured 9 min 41 s for all four systems on 2 idle
          cores (README): the energy is found for the harmonic oscillator (v^2 + 2.0 x^2),
          the pendulum (omega^2 - 19.53 cos(theta), refitted on the observed states) and
          the coupled oscillators; not for the double pendulum (linearised mode energies,
          |r| 0.899; README says why). `--set drift_weight=2.0` adds the observed-state
          drift to the loss (off by default: it did not find the double pendulum either).
"""

from research.laws.configs import conservation_config


def get_config(arg=None):
    return conservation_config(arg, system="harmonic", generations=150)
