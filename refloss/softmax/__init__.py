"""The softmax primitives as registered objects (family ``softmax``): log-sum-exp, log-softmax and softmax.

Their stable evaluation forms are :mod:`refloss.numerics`' helpers, which every family shares; these modules
register the three public functions, their closed-form gradients (Jacobians for the two vector-valued ones) and
the checks' inputs. The function :func:`refloss.softmax.softmax.softmax` is re-exported as ``refloss.softmax``,
which therefore names the function, not this package: import the package's modules by their full names
(``from refloss.softmax.log_softmax import MAX_JACOBIAN_ENTRIES``).
"""
