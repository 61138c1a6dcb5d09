"""Distributed fitting on Dask (optional extra ``emkit[dask]``; imported lazily)."""

from emkit.distributed.dask import DaskChunks

__all__ = ["DaskChunks"]
