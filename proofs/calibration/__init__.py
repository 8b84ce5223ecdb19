r"""The calibration family's definitions: temperature scaling's NLL, the expected calibration error, the
correctness-aware loss.

Run the proofs with ``refloss prove temperature_scaled_nll expected_calibration_error correctness_aware_loss``.

Notation (as in ``refloss/losses/calibration/``): logits :math:`z`, temperature :math:`T > 0`,
:math:`p = \mathrm{softmax}(z / T)`, the true class :math:`y`, the predicted class :math:`\hat y` (the first maximal
logit), its confidence :math:`\hat p = p_{\hat y}` and its correctness :math:`c = [\hat y = y]`.

Two of the definitions are piecewise: which bin a confidence falls in (the expected calibration error) and which
class is predicted (the correctness-aware loss) are decided on the **exact** float64 inputs when the expression is
built (``define(..., exact_inputs=...)``), with rationals, by code independent of refloss's float64 rules; the
expression then holds the inputs as symbols, so the oracle differentiates and evaluates it as any other. Where the
case moves the class axis or leaves classes out (``axis=``, ``where=``), an entry's exact value is found through
its symbol's name, which keeps the input's own index (``_common.exact_value``).
"""
