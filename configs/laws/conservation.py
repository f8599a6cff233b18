"""Conserved quantities from simulated motion (Schmidt & Lipson 2009), one system per run.

Run:      frontier run configs/laws/conservation.py --set system.name="'pendulum'"
          frontier reproduce laws/conservation   # harmonic, pendulum, coupled, double pendulum
Expect:   population 1000, 60 generations, 400 rows, 1% position noise, Savitzky-Golay window
          61. Measured 3 min 44 s for all four systems on a shared, loaded 2-core CPU. The
          energy is found for the harmonic oscillator (v^2 + 1.994 x^2 at complexity 7); not
          for the pendulum (best |r| 0.976), the coupled oscillators (0.33) or the double
          pendulum (0.33), also not with 300 generations: a search-structure miss.
"""

from research.laws.configs import conservation_config


def get_config(arg=None):
    return conservation_config(arg, system="harmonic", generations=60)
