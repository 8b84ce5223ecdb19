"""Named one-row inputs where float64 formulas are known to lose digits, run on every framework's functions.

Each probe is a minimal reproducer: ``refloss conform`` evaluates it with every peer function of the entry
(where the function's API can express it) and records the answers beside the exact ones, so the docs page
can show, for one input, what each framework returns.
"""

from __future__ import annotations

import numpy as np

NINF = -np.inf

#: entry name -> [(label, inputs in refloss's conventions)]
PROBES: dict[str, list[tuple[str, dict]]] = {
    "cross_entropy": [
        ("logits [40, 0], target 0", {"logits": np.array([[40.0, 0.0]]), "target": np.array([0]), "reduction": "sum"}),
        ("logits [40, 0], target 1", {"logits": np.array([[40.0, 0.0]]), "target": np.array([1]), "reduction": "sum"}),
    ],
    "logsumexp": [("logits [0, -50]", {"logits": np.array([0.0, -50.0])})],
    "log_softmax": [("logits [40, 0]", {"logits": np.array([40.0, 0.0])})],
    "softmax": [("logits [40, 0]", {"logits": np.array([40.0, 0.0])})],
    "binary_cross_entropy_with_logits": [
        ("x = -40, y = 0", {"logits": np.array([-40.0]), "target": np.array([0.0]), "reduction": "sum"}),
        # a label outside [0, 1] (PyTorch accepts any real label): terms of 7e7 cancel to log 2 + 5e-10 - 0.1
        ("x = 1e-9, y = 1e8", {"logits": np.array([1e-9]), "target": np.array([1e8]), "reduction": "sum"}),
    ],
    "sigmoid_focal_loss": [
        ("x = 40, y = 1, gamma = 2", {"logits": np.array([40.0]), "target": np.array([1.0]), "gamma": 2.0,
                                      "alpha": 0.25, "reduction": "sum"}),
        ("x = 40, y = 1, gamma = 0.5", {"logits": np.array([40.0]), "target": np.array([1.0]), "gamma": 0.5,
                                        "alpha": 0.25, "reduction": "sum"}),
    ],
    "poly1_loss": [
        ("logits [40, 0], target 0, epsilon 1", {"logits": np.array([[40.0, 0.0]]), "target": np.array([0]),
                                                 "epsilon": 1.0, "reduction": "sum"}),
    ],
    "softmax_entropy": [("logits [0, -40]", {"logits": np.array([[0.0, -40.0]]), "reduction": "sum"})],
    "kl_divergence_logits": [
        ("p logits [0, -800] (p_1 underflows), q uniform",
         {"p_logits": np.array([[0.0, -800.0]]), "q_logits": np.array([[0.0, 0.0]]), "reduction": "sum"}),
        ("p logits [0, -inf], q logits [0, 1]",
         {"p_logits": np.array([[0.0, NINF]]), "q_logits": np.array([[0.0, 1.0]]), "reduction": "sum"}),
    ],
}
