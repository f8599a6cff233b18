"""English <-> German number words (research.dual.language, pair `en-de`): 10% of 4,000
training numbers (400) as parallel pairs, the other 90% as English-only and German-only
monolingual corpora; Transformer encoder-decoders (2+2 layers, d=64) both ways, warm-started by
500 supervised steps, then 500 steps of `method`: `dual` (He et al. 2016, the default: K=2
beam middle translations, alpha=0.5, the validation search's best), `backtranslation` or
`supervised`.

Run:      frontier run configs/dual/translation.py --seeds 5                   # dual learning
          frontier run configs/dual/translation.py --seeds 5 --set method=backtranslation
          frontier run configs/dual/translation.py --seeds 5 --set method=supervised \
              --set data.parallel_fraction=1.0                                 # 100% parallel
          frontier reproduce dual/translation          # all methods, 5 seeds, tables
          frontier reproduce dual/translation_search   # alpha and K on the validation split
Expect:   (measured, 5 seeds, beam 4) BLEU en->de / de->en: supervised 10% 77.2 / 58.2,
          back-translation 88.2 / 80.1, dual learning 85.8 / 78.1, dual + dual inference
          91.7 / 86.9, supervised 100% 100.0 / 99.9. The reproduction took 46.5 min on 2
          shared cores.
"""

from research.dual.configs import translation_config


def get_config(arg=None):
    return translation_config("dual", arg)
