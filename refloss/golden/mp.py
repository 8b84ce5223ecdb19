"""mpmath twins: each registered value function written again, straight from its definition, at 50 digits.

These are the precision oracle of ``refloss audit`` and of the golden data. They are deliberately
plain (loops over rows, the textbook formula) and share no code with the NumPy reference. One thing
50 digits do not buy: ``log(1 + x)`` and ``1 - exp(x)`` for ``|x|`` below ~1e-35 (logit gaps above
~80), so those are written with mpmath's ``log1p`` / ``expm1``, which are exact identities. Each
takes the value function's keywords and returns an object array of mpf values with the value
function's output shape. Inputs may also be object arrays of mpf (for the 90-digit gradients of
:mod:`refloss.golden.dataset`); a twin then works at the caller's precision if it is above 50 digits.

``*_scale`` functions give the magnitude that the float64 error is measured against where the value
can be ill-conditioned; see :func:`refloss.golden.precision_error`.
"""

from __future__ import annotations

import numpy as np

DPS = 50


def _mpmath():
    try:
        import mpmath
    except ImportError:  # pragma: no cover
        from .._validate import RefLossError

        raise RefLossError("mpmath is not installed: pip install 'refloss[audit]'") from None
    return mpmath


def _precision():
    """Work at DPS digits, or more if the caller (e.g. mpmath.diff) already raised the precision."""
    mpmath = _mpmath()
    return mpmath.workdps(max(DPS, mpmath.mp.dps))


def _array(x):
    """A float64 array, or an object array as given (mpf entries, e.g. from mpmath.diff)."""
    a = np.asarray(x)
    return a if a.dtype == object else a.astype(np.float64)


def _mpf(t):
    return _mpmath().mpf(t if isinstance(t, _mpmath().mpf) else float(t))


def _rows(x):
    """The rows (last axis) of an array as lists of exact mpf values, and the batch shape."""
    a = _array(x)
    return [[_mpf(t) for t in row] for row in a.reshape(-1, a.shape[-1])], a.shape[:-1]


def _out(values, shape):
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # slice assignment would try to index the mpf values
        out[i] = value
    return out.reshape(shape)


def _reduce(values, reduction, denominator=None):
    if reduction == "none":
        return values
    total = sum(values.ravel().tolist(), _mpmath().mpf(0))
    if reduction == "sum":
        return _out([total], ())
    den = values.size if denominator is None else denominator
    return _out([total / den if den != 0 else _mpmath().mpf("nan")], ())


def _shifted_lse(row):
    """(m, log sum_j exp(z_j - m)) with m = max z, the sum written as 1 + (the terms but one maximal)."""
    mpmath = _mpmath()
    k = max(range(len(row)), key=lambda j: row[j])
    m = row[k]
    return m, mpmath.log1p(mpmath.fsum(mpmath.exp(t - m) for j, t in enumerate(row) if j != k))


def _log_softmax_row(row):
    m, log_s = _shifted_lse(row)
    return [(t - m) - log_s for t in row]


def _xlogy(x, y):
    return 0 if x == 0 else x * y


def logsumexp(logits):
    with _precision():
        rows, shape = _rows(logits)
        return _out([sum(_shifted_lse(r)) for r in rows], shape)


def logsumexp_scale(logits):
    """|m| + |LSE - m|: the two terms a float64 log-sum-exp adds (its rounding error is relative to them)."""
    with _precision():
        rows, shape = _rows(logits)
        return _out([abs(m) + abs(log_s) for m, log_s in map(_shifted_lse, rows)], shape)


def log_softmax(logits):
    with _precision():
        rows, shape = _rows(logits)
        flat = [t for r in rows for t in _log_softmax_row(r)]
        return _out(flat, shape + (len(rows[0]),))


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """PyTorch's F.cross_entropy, written from its documentation (class axis last)."""
    mpmath = _mpmath()
    with _precision():
        rows, shape = _rows(logits)
        n_classes = len(rows[0])
        w = [mpmath.mpf(1)] * n_classes if weight is None else [_mpf(c) for c in weight]
        eps = _mpf(label_smoothing)
        t_arr = np.asarray(target)
        losses, total_weight = [], mpmath.mpf(0)
        if t_arr.shape == np.shape(logits):
            for r, t in zip(rows, t_arr.reshape(-1, n_classes)):
                logp = _log_softmax_row(r)
                smoothed = [(1 - eps) * _mpf(tc) + eps / n_classes for tc in t]
                losses.append(-mpmath.fsum(_xlogy(w[c] * smoothed[c], logp[c]) for c in range(n_classes)))
            return _reduce(_out(losses, shape), reduction, len(rows))
        for r, y in zip(rows, t_arr.reshape(-1)):
            if y == ignore_index:
                losses.append(mpmath.mpf(0))
                continue
            logp = _log_softmax_row(r)
            nll = -w[y] * logp[y]
            smooth = -mpmath.fsum(_xlogy(w[c], logp[c]) for c in range(n_classes)) if eps else 0
            losses.append((1 - eps) * nll + eps / n_classes * smooth)
            total_weight += w[y]
        return _reduce(_out(losses, shape), reduction, total_weight)


def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean"):
    mpmath = _mpmath()
    with _precision():
        x = _array(logits)
        w = np.broadcast_to(1.0 if weight is None else _array(weight), x.shape)
        pw = np.broadcast_to(1.0 if pos_weight is None else _array(pos_weight), x.shape)
        y = _array(target)
        out = []
        for xi, yi, wi, pwi in zip(x.ravel(), y.ravel(), w.ravel(), pw.ravel()):
            xi, yi, wi, pwi = (_mpf(t) for t in (xi, yi, wi, pwi))
            log_sig, log_one_minus_sig = -mpmath.log1p(mpmath.exp(-xi)), -mpmath.log1p(mpmath.exp(xi))
            out.append(-wi * (pwi * _xlogy(yi, log_sig) + _xlogy(1 - yi, log_one_minus_sig)))
        return _reduce(_out(out, x.shape), reduction)


def focal_loss(logits, target, gamma=2.0, alpha=None, reduction="mean"):
    mpmath = _mpmath()
    with _precision():
        rows, shape = _rows(logits)
        g = _mpf(gamma)
        alphas = None if alpha is None else np.broadcast_to(_array(alpha), (len(rows[0]),))
        out = []
        for r, y in zip(rows, np.asarray(target).reshape(-1)):
            logp_y = _log_softmax_row(r)[y]
            a = 1 if alphas is None else _mpf(alphas[y])
            out.append(-a * (-mpmath.expm1(logp_y)) ** g * logp_y)
        return _reduce(_out(out, shape), reduction)


def sigmoid_focal_loss(logits, target, alpha=0.25, gamma=2.0, reduction="mean"):
    mpmath = _mpmath()
    with _precision():
        x = _array(logits)
        y = _array(target)
        g = _mpf(gamma)
        out = []
        for xi, yi in zip(x.ravel(), y.ravel()):
            xi, yi = _mpf(xi), _mpf(yi)
            p, one_minus_p = 1 / (1 + mpmath.exp(-xi)), 1 / (1 + mpmath.exp(xi))
            ce = yi * mpmath.log1p(mpmath.exp(-xi)) + (1 - yi) * mpmath.log1p(mpmath.exp(xi))
            one_minus_p_t = p * (1 - yi) + one_minus_p * yi
            a_t = 1 if alpha is None else _mpf(alpha) * yi + (1 - _mpf(alpha)) * (1 - yi)
            out.append(a_t * one_minus_p_t ** g * ce)
        return _reduce(_out(out, x.shape), reduction)


def _entropy_rows(logits):
    mpmath = _mpmath()
    rows, shape = _rows(logits)
    for r in rows:
        logp = _log_softmax_row(r)
        yield [mpmath.exp(lp) for lp in logp], logp
    return shape


def softmax_entropy(logits, reduction="mean"):
    mpmath = _mpmath()
    with _precision():
        shape = np.shape(logits)[:-1]
        h = [-mpmath.fsum(_xlogy(pj, lpj) for pj, lpj in zip(p, logp)) for p, logp in _entropy_rows(logits)]
        return _reduce(_out(h, shape), reduction)


def softmax_entropy_scale(logits, reduction="mean"):
    """sum_j p_j |log p_j| (1 + |log p_j|): first-order effect of an ulp-level error in each log p_j."""
    mpmath = _mpmath()
    with _precision():
        shape = np.shape(logits)[:-1]
        s = [mpmath.fsum(_xlogy(pj, abs(lpj)) * (1 + abs(lpj)) if pj else 0 for pj, lpj in zip(p, logp))
             for p, logp in _entropy_rows(logits)]
        return _reduce(_out(s, shape), reduction)


def _kl_terms(p_logits, q_logits):
    rows_a, shape = _rows(p_logits)
    rows_b, _ = _rows(q_logits)
    mpmath = _mpmath()
    for ra, rb in zip(rows_a, rows_b):
        logp, logq = _log_softmax_row(ra), _log_softmax_row(rb)
        yield [(mpmath.exp(lp), lp, lq) for lp, lq in zip(logp, logq)]


def kl_divergence_logits(p_logits, q_logits, reduction="mean"):
    mpmath = _mpmath()
    with _precision():
        shape = np.shape(p_logits)[:-1]
        kl = [mpmath.fsum(p * (lp - lq) if p else 0 for p, lp, lq in row) for row in _kl_terms(p_logits, q_logits)]
        return _reduce(_out(kl, shape), reduction)


def kl_divergence_logits_scale(p_logits, q_logits, reduction="mean"):
    """sum_j p_j (|log p_j| + |log q_j| + |log p_j| |log p_j - log q_j|): the terms' first-order error scale."""
    mpmath = _mpmath()
    with _precision():
        shape = np.shape(p_logits)[:-1]
        s = [mpmath.fsum(p * (abs(lp) + abs(lq) + abs(lp) * abs(lp - lq)) if p else 0 for p, lp, lq in row)
             for row in _kl_terms(p_logits, q_logits)]
        return _reduce(_out(s, shape), reduction)
