"""refloss: ground-truth NumPy implementations, with closed-form gradients, of training objectives.

Every object is registered; :func:`catalogue` lists them. Conventions (float64, class axis last,
``reduction``, :class:`RefLossError`) are in the docs' *Conventions* page.
"""

from ._registry import Entry, Paper, Param, catalogue, get
from ._validate import PROB_SUM_ATOL, RefLossError, RefLossWarning
from .info.discrete import (
    KLDivergenceGrad,
    kl_divergence_logits,
    kl_divergence_logits_grad,
    softmax_entropy,
    softmax_entropy_grad,
)
from .losses.classification import (
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    cross_entropy,
    cross_entropy_grad,
    focal_loss,
    focal_loss_grad,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
)
from .numerics import log_softmax, log_softmax_grad, logsumexp, logsumexp_grad

__version__ = "0.1.0"

__all__ = [
    "Entry", "KLDivergenceGrad", "PROB_SUM_ATOL", "Paper", "Param", "RefLossError", "RefLossWarning",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad", "catalogue",
    "cross_entropy", "cross_entropy_grad", "focal_loss", "focal_loss_grad", "get", "kl_divergence_logits",
    "kl_divergence_logits_grad", "log_softmax", "log_softmax_grad", "logsumexp", "logsumexp_grad",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad", "softmax_entropy", "softmax_entropy_grad",
]
