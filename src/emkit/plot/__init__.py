"""Figures and animations of fitted emkit models (needs matplotlib: ``emkit[plot]``).

matplotlib is imported only when a function runs. Every function draws on the
``ax`` it is given, or on a new pyplot-free figure with an Agg canvas, and returns
the matplotlib object (Axes, or FuncAnimation); nothing is ever shown, so the
functions are safe in scripts, servers and tests. Save with
``ax.figure.savefig(path)``.

* :func:`plot_mixture_2d` — data, component means and 1σ / 2σ covariance ellipses
  (any covariance type; k-means: centres, cluster sizes and Voronoi cells);
  :func:`plot_mixture_1d` — histogram and component densities;
  :func:`plot_mixture_pairs` — every pair of features of a mixture, marginals on
  the diagonal.
* :func:`plot_convergence` — log-likelihood (and lower bound) per EM iteration.
* :func:`plot_em_decomposition` — each iteration's gain = M-step gain of the bound
  + KL gap; :func:`plot_trace` — any column of ``estimator.trace_``.
* :func:`plot_decoded_states` — an HMM's sequence coloured by Viterbi state, with the
  level of every state; :func:`plot_hmm_pairs` — every pair of an HMM's features,
  coloured by Viterbi state, with the states' means and ellipses.
* :func:`plot_smoothed` — a state-space model's observations with the smoothed
  signal (e.g. the Nile's level) and its credible band.
* :func:`plot_top_words` — a topic model's top words, one bar chart per topic;
  :func:`plot_document_topics` — documents' topic proportions (stacked bars or a
  heatmap), optionally averaged by a label such as the book of every chapter
  (:func:`mean_by_label`).
* :func:`plot_model_selection` — a criterion (BIC, AIC, ICL) against K, one line per
  covariance type, of :func:`emkit.select_model`'s grid.
* :func:`plot_logo` — a sequence logo of a motif's position weight matrix (with
  logomaker when it is installed, else matplotlib's text), :func:`logo_heights`.
* :func:`animate_em` — GIF of EM converging (recorded by :func:`record_em` through
  the engine's per-iteration callback).
"""

from emkit.plot._animation import animate_em, record_em
from emkit.plot._convergence import (
    log_likelihood_path,
    plot_convergence,
    plot_em_decomposition,
    plot_trace,
)
from emkit.plot._figure import new_figure, save_figure
from emkit.plot._mixture import (
    MixtureGeometry,
    ellipse_geometry,
    mixture_geometry,
    plot_mixture_1d,
    plot_mixture_2d,
    responsibilities,
)
from emkit.plot.hmm import plot_decoded_states
from emkit.plot.lgssm import plot_smoothed
from emkit.plot.logo import logo_heights, plot_logo
from emkit.plot.pairs import plot_hmm_pairs, plot_mixture_pairs
from emkit.plot.selection import plot_model_selection
from emkit.plot.topics import mean_by_label, plot_document_topics, plot_top_words

__all__ = [
    "MixtureGeometry",
    "animate_em",
    "ellipse_geometry",
    "log_likelihood_path",
    "logo_heights",
    "mean_by_label",
    "mixture_geometry",
    "new_figure",
    "plot_convergence",
    "plot_decoded_states",
    "plot_document_topics",
    "plot_em_decomposition",
    "plot_hmm_pairs",
    "plot_logo",
    "plot_mixture_1d",
    "plot_mixture_2d",
    "plot_mixture_pairs",
    "plot_model_selection",
    "plot_smoothed",
    "plot_top_words",
    "plot_trace",
    "record_em",
    "responsibilities",
    "save_figure",
]
