"""Digits <-> English words translation (numbers 0-999,999): 10% of 10,000 training numbers
as parallel pairs, the other 90% as digits-only and words-only monolingual corpora; Transformer
encoder-decoders (2+2 layers, d=64) both ways, warm-started by 800 supervised steps, then 800
steps of `method`: `dual` (He et al. 2016, the default), `backtranslation` or `supervised`.

Run:      frontier run configs/dual/translation.py --seeds 3                   # dual learning
          frontier run configs/dual/translation.py --seeds 3 --set method=backtranslation
          frontier run configs/dual/translation.py --seeds 3 --set method=supervised
          frontier run configs/dual/translation.py --seeds 3 --set method=supervised \
              --set data.parallel_fraction=1.0                                 # 100% parallel
          frontier reproduce dual/translation      # all four, BLEU and exact match, table
Expect:   (measured, 3 seeds, beam 4) BLEU digits->words / words->digits: supervised 10%
          97.2 / 91.3, back-translation 98.0 / 97.7, dual learning 97.9 / 96.4, supervised
          100% 100.0 / 99.6; exact match 0.93 / 0.83, 0.95 / 0.95, 0.94 / 0.93, 1.00 / 0.99.
          The dual run alone: about 30 min for 3 vmapped seeds on 2 cores loaded by other jobs
          (about 10 min of CPU); the whole reproduction took 54 min wall, 19 min CPU.
"""

from research.dual.configs import translation_config


def get_config(arg=None):
    return translation_config("dual", arg)
