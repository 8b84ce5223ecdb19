"""The softmax family's shared parts: the paper."""

from .._registry import Paper

_BLANCHARD = Paper(
    "Accurately computing the log-sum-exp and softmax functions",
    where="P. Blanchard, D. J. Higham, N. J. Higham, IMA J. Numer. Anal. 41(4), 2021",
)

