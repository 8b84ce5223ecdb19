r"""Calibration: temperature scaling's NLL, the expected calibration error, the correctness-aware loss.

Notation (shared by every docstring, proof and test): logits :math:`z \in \mathbb{R}^C` (class axis last), a
temperature :math:`T > 0`, :math:`p = \mathrm{softmax}(z / T)` (:math:`T = 1` where no temperature is named), the
true class :math:`y`, the predicted class :math:`\hat y = \arg\max_k z_k` (the **first** maximal class, NumPy's and
PyTorch's ``argmax``), its confidence :math:`\hat p = \max_k p_k = p_{\hat y}` and its correctness
:math:`c = [\hat y = y]`.

* :func:`refloss.temperature_scaled_nll` (Guo et al. 2017, Sec. 4.2): the mean negative log-likelihood of
  :math:`\mathrm{softmax}(z/T)`, with its gradients w.r.t. the logits and the temperature. Temperature scaling
  fits :math:`T` by minimising it on held-out data.
* :func:`refloss.expected_calibration_error`: equal-width or equal-mass bins, top-label or classwise, the L1, L2 or
  max norm, from **probabilities** (the inputs whose bin membership is decided exactly). A metric of bin counts: no
  gradient.
* :func:`refloss.correctness_aware_loss` (Liu et al. 2024, official code): the class-balanced squared error between
  the confidence and the correctness, with its gradient w.r.t. the logits.

**The bin-edge rule** (:func:`refloss.expected_calibration_error`): with :math:`M` equal-width bins, bin :math:`m`
holds the confidences in :math:`I_m = ((m-1)/M,\ m/M]` for the **exact** rationals :math:`m/M`, and 0 is in the
first bin, :math:`[0, 1/M]` (Guo et al.'s intervals; no float64 rounding of an edge decides a membership). Peers
differ exactly there: torchmetrics puts :math:`c` in :math:`[\mathrm{fl}(m/M), \mathrm{fl}((m+1)/M))` with edges
rounded to float32 and 1.0 in a bin of its own; netcal clips to :math:`[\epsilon, 1 - \epsilon]` and bins
:math:`[\mathrm{fl}(m/M), \mathrm{fl}((m+1)/M))` with float64 ``linspace`` edges (``refloss/conform``).
"""
