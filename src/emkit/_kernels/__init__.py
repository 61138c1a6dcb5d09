"""numba-compiled recursions, each with a NumPy reference twin used only by tests.

Every kernel is ``@njit(cache=True, nogil=True)`` and works on C-contiguous float64
arrays that a thin Python wrapper allocates; no Python objects cross the boundary.

* :mod:`emkit._kernels.hmm` — forward-backward with scaled messages (expected
  transition counts summed on the fly) and Viterbi, for hidden Markov models;
  twin: :mod:`emkit._kernels._reference_hmm`.
"""
