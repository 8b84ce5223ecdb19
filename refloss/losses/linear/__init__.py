r"""Cross-entropy of a linear head: the reference twin of :func:`accel.linear_cross_entropy`.

Notation (shared with ``proofs/linear/`` and :mod:`accel`): hidden states :math:`e \in \mathbb{R}^{N
\times D}`, classifier :math:`c \in \mathbb{R}^{V \times D}` (one row per class, as in Apple's Cut
Cross-Entropy and Liger), optional bias :math:`b \in \mathbb{R}^V`; the head's logits
:math:`u = e c^\top + b`; with a soft cap :math:`s` (Gemma 2), :math:`z = s \tanh(u / s)`, else :math:`z = u`;
:math:`p = \mathrm{softmax}(z)` and :math:`\mathrm{LSE}_n = \log \sum_v e^{z_{n,v}}` per row.
:func:`linear_cross_entropy` also takes PyTorch's layouts: hidden states with any batch axes (one unbatched row
:math:`(D,)`), a classifier :math:`(d_1, \dots, d_K, V, D)` per position (the K-dimensional loss, a row of logits per
batch index and position) and probability targets of the logits' shape.

Each non-ignored row's loss is PyTorch's cross-entropy of :math:`z_n` (class weights, label smoothing) plus
PaLM's z-loss :math:`\lambda\,\mathrm{LSE}_n^2`; "mean" divides the sum by the total class weight of the
non-ignored targets (by the number of rows for probability targets). The gradient w.r.t. the logits,
:math:`G_{n,v} = \partial \ell / \partial u_{n,v}`, is that
of :func:`refloss.cross_entropy` plus :math:`2\lambda\,\mathrm{LSE}_n\,p_{n,v}`, times the soft cap's
:math:`1 - \tanh^2(u_{n,v}/s)`; the head's gradients follow by the chain rule,
:math:`\partial \ell / \partial e = G c`, :math:`\partial \ell / \partial c = G^\top e`,
:math:`\partial \ell / \partial b = \sum_n G_{n,\cdot}`.

:func:`linear_kl` is the distillation objective of two heads on the same hidden states: Hinton's
:math:`T^2\,\mathrm{KL}(\mathrm{softmax}(t/T) \,\|\, \mathrm{softmax}(s/T))` per row, for the teacher's
logits :math:`t = e c_t^\top` and the student's :math:`s = e c_s^\top`.

This module materialises the :math:`N \times V` logits in float64: it is the oracle-checked reference that
:mod:`accel`'s chunked kernels are compared with, not a way to run a large vocabulary.
"""
