"""synthesis: neural program synthesis in the DeepCoder DSL (Balog et al., ICLR 2017).

The DSL and its interpreter (`dsl`), random programs with I/O examples and a train/test split
without equivalent programs (`data`), the neural guide trained through the shared loop
(`experiments`), DFS, sort-and-add and genetic searches (`search`), Table 1 (`reproduce`) and
the sweep of sort-and-add vs DFS over guide quality (`guide_quality`).

    frontier run configs/synthesis/deepcoder_t3.py
    frontier reproduce synthesis/deepcoder_t3
"""

from research.synthesis import experiments, guide_quality, reproduce  # noqa: F401  (registers)
