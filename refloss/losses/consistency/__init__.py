r"""H-consistency of the comp-sum losses (Mao, Mohri & Zhong 2023, arXiv:2304.07288): the error transform
:math:`T_\tau`, the bound :math:`\Gamma_\tau = T_\tau^{-1}` with minimizability gaps, and the gaps themselves.

The transforms are refloss's reconstruction, validated numerically; the paper's theorem text was not read, and
every docstring says so. ``refloss.losses.consistency.exact_consistency_transform`` (not a registry entry: an
optimiser's output) computes the tight transform :math:`T^*` with a certificate, and
``benchmarks/consistency_sweep.py`` compares the closed forms with it.
"""

from .exact_consistency_transform import (  # noqa: F401 - the unregistered part of the family's API
    ExactTransform,
    exact_consistency_transform,
    surrogate_conditional_regret,
    zero_one_conditional_regret,
)
