"""The quick variant of configs/dual/translation.py: digits <-> English words ("4 0 7" <->
"four hundred seven"), a monotone, nearly one-to-one pair that 10% parallel data already
almost solves (so monolingual data has little to add). Same methods and schedule.

Run:      frontier run configs/dual/translation_digits.py --seeds 3
          frontier run configs/dual/translation_digits.py --seeds 3 --set method=supervised
Expect:   (measured earlier, 3 seeds, beam 4) BLEU digits->words / words->digits: supervised
          10% 97.2 / 91.3, back-translation 98.0 / 97.7, dual learning 97.9 / 96.4,
          supervised 100% 100.0 / 99.6. About 10 min of CPU for 3 vmapped seeds.
"""

from research.dual.configs import translation_config


def get_config(arg=None):
    return translation_config("dual", arg, pair="digits-en")
