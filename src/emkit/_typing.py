"""Type aliases of emkit's public signatures.

Imported under ``typing.TYPE_CHECKING`` only (with ``from __future__ import
annotations`` every annotation is a string), so nothing here runs when emkit is
imported and this module may import nothing else of emkit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["ArrayLike", "Documents", "EMCallback", "FitData", "PathLike", "RandomStateLike"]

#: a file name
PathLike: TypeAlias = "str | os.PathLike[str]"

#: what ``random_state`` accepts: a seed, a RandomState, a Generator, or None
RandomStateLike: TypeAlias = "int | np.random.RandomState | np.random.Generator | None"

#: the training data of ``fit``: an array, a memory-mapped array, a Dask array, or the
#: path of a ``.npy`` file streamed chunk by chunk
FitData: TypeAlias = "ArrayLike | str | os.PathLike[str]"

#: a corpus: a (n_docs, n_terms) count matrix, dense or scipy.sparse, or a Dask array
Documents: TypeAlias = "ArrayLike | scipy.sparse.spmatrix | scipy.sparse.sparray"

#: ``callback(restart, iteration, params)``, called after every EM iteration
EMCallback: TypeAlias = "Callable[[int, int, Any], object]"
