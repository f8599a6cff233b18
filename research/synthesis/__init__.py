"""synthesis: neural program synthesis in the DeepCoder DSL (Balog et al., ICLR 2017).

The DSL and its interpreter (`dsl`), random programs with I/O examples and a train/test split
without equivalent programs (`data`), the neural guide trained through the shared loop
(`experiments`), DFS, sort-and-add and genetic searches (`search`) and Table 1 (`reproduce`).

    frontier run configs/synthesis/deepcoder_t3.py
    frontier reproduce synthesis/deepcoder_t3
"""

from research.synthesis import experiments, reproduce  # noqa: F401  (registers)
