"""Progress display for EM fits (rich, on standard error). Off unless ``verbose``."""

from __future__ import annotations

import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class FitProgress:
    """One bar per restart: iterations done out of ``max_iter`` and the current objective.

    ``verbose=0``: silent. ``verbose=1``: bars. ``verbose>=2``: bars and one line per
    iteration (every ``interval`` iterations) with the objective and its change.
    """

    def __init__(self, verbose: int, max_iter: int, n_init: int, interval: int = 1):
        self.verbose = verbose
        self.interval = interval
        self.max_iter = max_iter
        self.n_init = n_init
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self):
        if self.verbose:
            self._progress = Progress(
                TextColumn("[bold]EM[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("objective {task.fields[objective]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False

    def start_restart(self, index: int) -> None:
        if self._progress is None:
            return
        label = f"restart {index + 1}/{self.n_init}" if self.n_init > 1 else "fit"
        self._task = self._progress.add_task(label, total=self.max_iter, objective="-")

    def iteration(self, n_iter: int, objective: float, change: float) -> None:
        if self._progress is None:
            return
        self._progress.update(self._task, completed=n_iter, objective=f"{objective:.6g}")
        if self.verbose >= 2 and n_iter % self.interval == 0:
            self._progress.console.log(
                f"iteration {n_iter}: objective {objective:.10g} (change {change:.3g})"
            )

    def finish_restart(self, converged: bool) -> None:
        if self._progress is None:
            return
        task = self._progress.tasks[-1]
        self._progress.update(self._task, total=task.completed or 1)
        with contextlib.suppress(Exception):
            status = "converged" if converged else "not converged"
            self._progress.update(self._task, description=f"{task.description} ({status})")
