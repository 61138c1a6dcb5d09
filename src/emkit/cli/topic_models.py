"""The command line's topic models: ``emkit fit CORPUS --model lda|plsa -k K``.

Their data are corpus files (:mod:`emkit.cli.corpus`), never tables: the kinds read
them with their own reader (``ModelKind.read``), and keep the vocabulary in the model
file for ``emkit topics``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from emkit.cli.common import matrix_text, positive_float, positive_int
from emkit.cli.corpus import CORPUS_FORMATS, Documents, read_documents
from emkit.cli.kind import ACCELERATE, LEARN, N_COMPONENTS, ModelKind, Option, plain_build
from emkit.cli.report import Entry

__all__ = ["CORPUS_FORMAT", "VOCAB", "lda_kind", "plsa_kind", "summary_words", "topic_words"]

#: words per topic in the fit summary and in ``emkit info``
SUMMARY_WORDS = 10

VOCAB = Option.of(
    "--vocab",
    metavar="FILE",
    help="the vocabulary, one word per line in the order of the term ids (columns); kept "
    "in the model file, so that 'emkit topics' prints words",
    default_text="the corpus's own: vocab.*.txt beside a UCI docword.*.txt, CORPUS.vocab "
    "beside an LDA-C file, a CSV's header; else none",
)
CORPUS_FORMAT = Option.of(
    "--corpus-format",
    choices=tuple(CORPUS_FORMATS),
    help="the format of the corpus file: ldac (LDA-C), mtx (Matrix Market), uci (UCI bag "
    "of words) or csv (a count matrix, CSV or .npy)",
    default_text="from the file name: .ldac, .mtx, docword.*.txt, .csv/.tsv/.npy",
)
DOC_TOPIC_PRIOR = Option.of(
    "--doc-topic-prior",
    type=positive_float,
    metavar="ALPHA",
    help="Dirichlet concentration of every document's topic proportions, the same for "
    "every topic: lda's alpha (the start when --learn has doc_topic_prior); plsa's MAP "
    "prior, at least 1 (1: none)",
    default_text="1 / K for lda; 1 for plsa",
)
TOPIC_WORD_PRIOR = Option.of(
    "--topic-word-prior",
    type=positive_float,
    metavar="ETA",
    help="Dirichlet concentration of every topic's word distribution, the same for every "
    "term: lda's eta (the start when --learn has topic_word_prior); plsa's MAP prior, at "
    "least 1 (1: none; above 1 it smooths the topics)",
    default_text="1 / K for lda; 1 for plsa",
)
TEMPERING = Option.of(
    "--tempering",
    type=positive_float,
    metavar="B",
    help="Hofmann's tempered EM: the posteriors raised to the power B, in (0, 1]; 1 is plain EM",
)
LEARNING_METHOD = Option.of(
    "--learning-method",
    choices=("batch", "online"),
    help="batch: variational EM on the whole corpus every iteration (the bound never "
    "decreases); online: online variational Bayes over mini-batches of --batch-size "
    "documents, --max-iter passes",
)
BATCH_SIZE = Option.of(
    "--batch-size",
    type=positive_int,
    metavar="DOCS",
    help="documents per mini-batch of --learning-method online",
)


# -- what the kinds print -----------------------------------------------------------------
def _vocabulary(estimator, vocabulary) -> list[str]:
    """The words of the terms, or ``term j`` where the vocabulary is unknown."""
    if vocabulary is not None:
        return list(vocabulary)
    return [f"term {j}" for j in range(int(estimator.n_features_in_))]


def topic_words(estimator, vocabulary, n: int) -> list[list[tuple[str, float]]]:
    """The ``n`` (at most the vocabulary's size) most probable (word, probability) pairs
    of every topic (:func:`emkit.topics.top_words`)."""
    from emkit.topics import top_words

    words = _vocabulary(estimator, vocabulary)
    return top_words(estimator, words, n=min(n, len(words)))


def summary_words(estimator, vocabulary) -> list[Entry]:
    """``topic k: word word ...`` lines (and the JSON ``top_words``), or one line saying
    how to see them when the vocabulary is unknown."""
    if vocabulary is None:
        return [
            Entry(
                "top words",
                "no vocabulary; give --vocab FILE (one word per line) to see them",
                {"top_words": None},
            )
        ]
    pairs = topic_words(estimator, vocabulary, SUMMARY_WORDS)
    topics = [[word for word, _ in words] for words in pairs]
    lines = [Entry(f"topic {k}", " ".join(words)) for k, words in enumerate(topics)]
    return [*lines, Entry("top words", None, {"top_words": topics})]


def _prior_entry(label: str, key: str, values: np.ndarray) -> Entry:
    """A Dirichlet prior: one number when symmetric (as it is unless given as an array)."""
    values = np.asarray(values, dtype=np.float64)
    if np.all(values == values[0]):
        return Entry(label, f"{values[0]:.6g} (every entry)", {key: float(values[0])})
    return Entry(label, matrix_text(values), {key: values})


def _objective_entries(estimator, documents: Documents, objective: str, key: str) -> list:
    """The objective of the documents under the model, per word, and the perplexity, from
    one pass over the documents (``estimator.score``)."""
    total = float(estimator.score(documents.X))
    n_tokens = documents.n_tokens
    per_word = total / n_tokens
    perplexity = math.exp(-per_word)
    return [
        Entry(
            f"{objective} per word",
            f"{per_word:.6f} (total {total:.10g} over {n_tokens} tokens)",
            {key: total, f"{key}_per_word": per_word, "n_tokens": n_tokens},
        ),
        Entry(
            "perplexity",
            f"{perplexity:.6g} (exp(-{objective} per word); lower is better)",
            {"perplexity": perplexity},
        ),
    ]


def _lda_summary(estimator, documents: Documents) -> list[Entry]:
    return [
        *_objective_entries(estimator, documents, "bound", "bound"),
        _prior_entry("doc-topic prior", "doc_topic_prior", estimator.doc_topic_prior_),
        _prior_entry("topic-word prior", "topic_word_prior", estimator.topic_word_prior_),
        *summary_words(estimator, documents.vocabulary),
    ]


def _score(objective: str, key: str):
    """The ``score`` hook of a kind whose objective is called ``objective``."""

    def score(estimator, documents: Documents) -> list[Entry]:
        n_docs = documents.X.shape[0]
        return [
            Entry("documents", str(n_docs), {"n_documents": n_docs}),
            *_objective_entries(estimator, documents, objective, key),
        ]

    return score


def _plsa_summary(estimator, documents: Documents) -> list[Entry]:
    return [
        *_objective_entries(estimator, documents, "log-likelihood", "log_likelihood"),
        *summary_words(estimator, documents.vocabulary),
    ]


def _predict_topics(estimator, documents: Documents, proba: bool) -> np.ndarray:
    """Each document's most probable topic, or (``--proba``) its topic proportions."""
    proportions = estimator.transform(documents.X)
    return proportions if proba else np.argmax(proportions, axis=1)


def _topic_tables(estimator, feature_names) -> list:
    """A rich table of every topic's top words (``feature_names``: the model file's
    vocabulary, else ``x0``, ``x1``, ...) and, for LDA, its doc-topic prior."""
    from rich.table import Table as RichTable

    alpha = getattr(estimator, "doc_topic_prior_", None)
    table = RichTable(title=f"{estimator.n_components} topics")
    table.add_column("topic", justify="right")
    if alpha is not None:
        table.add_column("doc-topic prior", justify="right")
    table.add_column("top words (probability)")
    for k, words in enumerate(topic_words(estimator, feature_names, SUMMARY_WORDS)):
        cells = [str(k)]
        if alpha is not None:
            cells.append(f"{alpha[k]:.4g}")
        cells.append(", ".join(f"{word} {p:.3f}" for word, p in words))
        table.add_row(*cells)
    return [table]


def _plot_topics(estimator, documents: Documents, path) -> None:
    from emkit.plot import plot_top_words, save_figure

    words = _vocabulary(estimator, documents.vocabulary)
    figure = plot_top_words(
        estimator,
        words,
        n=min(SUMMARY_WORDS, len(words)),
        title=f"{type(estimator).__name__} on {Path(documents.source).name}: top words",
    )
    save_figure(figure, path)


def _topics(estimator) -> str:
    return f"{estimator.n_components} topics"


# -- the kinds ------------------------------------------------------------------------------
def lda_kind() -> ModelKind:
    from emkit.estimators.lda import LatentDirichletAllocation

    return ModelKind(
        LatentDirichletAllocation,
        plain_build(LatentDirichletAllocation),
        "latent Dirichlet allocation by variational EM, -k topics, on a corpus file "
        "(.ldac, .mtx, UCI docword.*.txt, CSV counts)",
        summary=_lda_summary,
        score=_score("bound", "bound"),
        tables=_topic_tables,
        attributes=lambda estimator: ("components_", "doc_topic_prior_", "topic_word_prior_"),
        plot=_plot_topics,
        options=(
            N_COMPONENTS,
            VOCAB,
            CORPUS_FORMAT,
            DOC_TOPIC_PRIOR,
            TOPIC_WORD_PRIOR,
            LEARNING_METHOD,
            BATCH_SIZE,
            LEARN,
            ACCELERATE,
        ),
        hyperparameters={
            "n_components": "n_components",
            "doc_topic_prior": "doc_topic_prior",
            "topic_word_prior": "topic_word_prior",
            "learning_method": "learning_method",
            "batch_size": "batch_size",
            "learn": "learn",
            "accelerate": "accelerate",
        },
        predict=_predict_topics,
        describe=_topics,
        read=read_documents,
    )


def plsa_kind() -> ModelKind:
    from emkit.estimators.plsa import PLSA

    return ModelKind(
        PLSA,
        plain_build(PLSA),
        "probabilistic latent semantic analysis by exact EM (tempered with --tempering, "
        "MAP with the priors), -k topics, on a corpus file",
        summary=_plsa_summary,
        score=_score("log-likelihood", "log_likelihood"),
        tables=_topic_tables,
        attributes=lambda estimator: ("components_",),
        plot=_plot_topics,
        options=(
            N_COMPONENTS,
            VOCAB,
            CORPUS_FORMAT,
            DOC_TOPIC_PRIOR,
            TOPIC_WORD_PRIOR,
            TEMPERING,
            ACCELERATE,
        ),
        hyperparameters={
            "n_components": "n_components",
            "doc_topic_prior": "doc_topic_prior",
            "topic_word_prior": "topic_word_prior",
            "tempering": "tempering",
            "accelerate": "accelerate",
        },
        predict=_predict_topics,
        describe=_topics,
        read=read_documents,
    )
