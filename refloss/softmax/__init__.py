"""The softmax primitives as registered objects (family ``softmax``): log-sum-exp and log-softmax.

Their stable evaluation forms are :mod:`refloss.numerics`' helpers, which every family shares; these modules
register the two public functions, their closed-form gradients and the checks' inputs.
"""
