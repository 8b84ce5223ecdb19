r"""Comp-sum losses (Mao, Mohri & Zhong 2023): cross-entropy's family, indexed by :math:`\tau \ge 0`.

A comp-sum loss composes a function :math:`\Phi^\tau` with the sum over the other classes,

.. math:: \ell_\tau(z, y) = \Phi^\tau\Big(\sum_{y' \ne y} e^{z_{y'} - z_y}\Big),\qquad
          \Phi^1(u) = \log(1 + u),\quad \Phi^\tau(u) = \frac{(1 + u)^{1-\tau} - 1}{1 - \tau}\ (\tau \ne 1),

and since :math:`1 + \sum_{y' \ne y} e^{z_{y'} - z_y} = 1/p_y` every member is a function of the target's
probability alone: :math:`\ell_\tau = (p_y^{\tau-1} - 1)/(1 - \tau)`, whose gradient is cross-entropy's
rescaled, :math:`p_y^{\tau-1}(p - e_y)`. :math:`\tau = 0` is the sum-exponential loss, :math:`\tau = 1`
cross-entropy, :math:`\tau = 1 + q \in (1, 2]` the generalized cross-entropy, :math:`\tau = 2` the mean
absolute error :math:`1 - p_y`.

**Evaluation.** With :math:`s = \log p_y \le 0` from the accurate log-softmax,
:math:`\ell_\tau = -s\,\mathrm{exprel}((\tau - 1)s)`, where :math:`\mathrm{exprel}(t) = (e^t - 1)/t`
(:func:`scipy.special.exprel`, exact through :math:`t = 0`). One expression covers every :math:`\tau`, with no
branch and no 0/0 at :math:`\tau = 1`, and keeps relative accuracy when :math:`p_y \to 1`, where
:math:`1 - p_y^{q}` would cancel. The gradient's target component is
:math:`p_y^{\tau-1}\,\mathrm{expm1}(s)`, not :math:`p_y^{\tau-1}(p_y - 1)`, and the others are
:math:`e^{(\tau-1)s + \log p_j}`, so every component keeps its own relative accuracy.

**Convention.** The family's formula and the membership of each loss follow the paper; its theorem text was
not available to us, so the parametrisation by :math:`\tau` is as reconstructed in the project's research
notes (``confirmed_formulas.md``, section 1) and checked there numerically, not quoted. For
:math:`\tau < 1` the loss is unbounded as :math:`p_y \to 0` and overflows to ``+inf`` once it exceeds the
float64 range.
"""
