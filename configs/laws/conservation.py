"""Conserved quantities from simulated motion (Schmidt & Lipson 2009), one system per run.

Run:      frontier run configs/laws/conservation.py --set system.name="'pendulum'"
          frontier reproduce laws/conservation   # harmonic, pendulum, coupled, double pendulum
Expect:   population 1000, 60 generations, 400 rows, 1% position noise, Savitzky-Golay window
          61. Measured 17 min for all four systems on a shared, loaded 2-core CPU (3-6 min
          each). The energy is found for the harmonic oscillator (v^2 + 1.994 x^2 at
          complexity 7, derivative-ratio loss 0.149); not for the pendulum (best |r| 0.976),
          the coupled oscillators (0.33) or the double pendulum (0.33), where the true
          energy scores better than anything found: a search miss at this budget.
"""

from research.laws.configs import conservation_config


def get_config(arg=None):
    return conservation_config(arg, system="harmonic", generations=60)
