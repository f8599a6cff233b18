"""Conserved quantities from simulated motion (Schmidt & Lipson 2009), one system per run.

Run:      frontier run configs/laws/conservation.py --set system.name="'pendulum'"
          frontier reproduce laws/conservation   # harmonic, pendulum, coupled, double pendulum
Expect:   population 1000, 150 generations, 400 rows, 1% position noise, Savitzky-Golay
          window 141, order 7; closed-form term weights inside the search (`refine`).
          Measured 7 min 40 s for all four systems on a shared 2-core CPU. The energy is found
          for the harmonic oscillator (v^2 + 1.99 x^2) and the pendulum (omega^2 -
          19.2 cos(theta)); for the coupled oscillators a conserved combination of the two
          normal-mode energies (the fitness cannot prefer the total energy); not for the double
          pendulum (small-angle forms score as well as the energy on this data).
"""

from research.laws.configs import conservation_config


def get_config(arg=None):
    return conservation_config(arg, system="harmonic", generations=150)
