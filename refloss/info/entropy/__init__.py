r"""Entropy and KL divergence of softmax distributions given by logits (nats, class axis last).

Both are sums of :math:`p \log(\cdot)` terms; masked classes (``-inf`` logits, :math:`p = 0`) follow
the convention :math:`0 \log 0 = 0`. ``"mean"`` averages over the rows, i.e. divides the sum by
``prod(shape[:-1])``. PyTorch's ``kl_div(..., reduction="batchmean")`` divides by ``input.size(0)``
instead: the two agree for 2-D input ``(N, C)`` only (for ``(N, d, C)`` batchmean divides by N, refloss by
N d; for 1-D input batchmean divides by C, refloss by 1). PyTorch's elementwise ``"mean"`` divides by
``numel`` and agrees with neither.
"""
