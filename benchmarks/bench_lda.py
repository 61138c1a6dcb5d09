"""LDA: time per pass and held-out perplexity, emkit vs scikit-learn, gensim and tomotopy.

Corpus: the King James Bible, one document per chapter (``emkit.datasets.
load_kjv_chapters``), 90% of the chapters for training and 10% held out. Every library
fits K topics with the same priors (α = η = 1/K) for the same number of passes over
the training chapters, one thread each (BLAS included), and batch fits once more on
every core (emkit's threads, scikit-learn's joblib workers, gensim's worker processes;
BLAS still one thread):

- emkit batch variational EM (``learning_method="batch"``) and online VB
  (``"online"``, mini-batches of 128 chapters);
- scikit-learn's ``LatentDirichletAllocation``, batch and online, same settings;
- gensim's ``LdaModel``, batch (``update_every=0``) and online (``chunksize=128``),
  and on every core its ``LdaMulticore`` in batch mode (one worker process per core);
- tomotopy's ``LDAModel`` (collapsed Gibbs sampling in C++): not a variational method,
  so its "pass" is one Gibbs sweep; it runs ``gibbs_sweeps`` sweeps and its time is
  reported alongside, as the speed of a compiled sampler.

Each library's inner (per-document) loop keeps its own default tolerance, as users run
it. Held-out perplexity is by document completion (Wallach et al. 2009): half of each
held-out chapter's tokens estimate its topic proportions, the other half is scored
(``emkit.topics.completion_perplexity``), the same split for every library. The
variational fits are timed interleaved, ``repeats`` times, repeat r from random start
r of every library (the start moves the perplexity by about 2%, more than the
libraries differ); the table reports the median time per pass, the speed-up of emkit
over each peer as the ratio of medians, the least favourable ratio over the repeats
(each repeat's own ratio), and the mean (and range) of the held-out perplexity.

Run: ``python benchmarks/bench_lda.py [--topics K] [--passes P] [--repeats R]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from _timing import markdown_table
from emkit import LatentDirichletAllocation
from emkit.datasets import load_kjv_chapters
from emkit.topics import completion_perplexity

COLUMNS = [
    "case",
    "library",
    "s/pass",
    "emkit speed-up",
    "least speed-up",
    "held-out perplexity",
]


def _train_test(seed=0):
    corpus = load_kjv_chapters()
    X = corpus.counts.astype(np.float64).tocsr()
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_test = X.shape[0] // 10
    return X[order[n_test:]], X[order[:n_test]]


class _Fitted:
    """A peer's fit seen through the two attributes completion_perplexity uses."""

    def __init__(self, components, transform):
        self.components_ = components
        self.transform = transform


def _emkit(K, passes, method, n_jobs=1):
    def fit(X, seed):
        model = LatentDirichletAllocation(
            K,
            learning_method=method,
            max_iter=passes,
            tol=0.0,
            random_state=seed,
            n_jobs=n_jobs,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter passes, not converged: expected
            return model.fit(X)

    return fit


def _sklearn(K, passes, method, n_jobs=1):
    from sklearn.decomposition import LatentDirichletAllocation as SkLDA

    def fit(X, seed):
        return SkLDA(
            n_components=K,
            learning_method=method,
            max_iter=passes,
            random_state=seed,
            n_jobs=n_jobs,
        ).fit(X)

    return fit


def _bow(X):
    """gensim's corpus form: one list of (term id, count) pairs per document."""
    X = sp.csr_matrix(X)
    return [
        list(zip(X.indices[a:b].tolist(), X.data[a:b].astype(int).tolist(), strict=True))
        for a, b in zip(X.indptr[:-1], X.indptr[1:], strict=True)
    ]


def _gensim(K, passes, method, n_jobs=1):
    """gensim's ``LdaModel`` on one thread, or ``LdaMulticore`` (batch mode, one worker
    process per core, each E-step split between them) on every core."""
    import logging

    from gensim.models import LdaModel, LdaMulticore

    logging.getLogger("gensim").setLevel(logging.ERROR)

    def fit(X, seed):
        corpus = _bow(X)
        shared = {
            "num_topics": K,
            "id2word": {i: str(i) for i in range(X.shape[1])},
            "passes": passes,
            "alpha": np.full(K, 1.0 / K),
            "eta": 1.0 / K,
            "random_state": seed,
            "eval_every": None,
        }
        if n_jobs == 1:
            model = LdaModel(
                corpus,
                update_every=0 if method == "batch" else 1,
                chunksize=X.shape[0] if method == "batch" else 128,
                **shared,
            )
        else:
            workers = os.cpu_count()
            model = LdaMulticore(
                corpus,
                workers=workers,
                batch=method == "batch",
                chunksize=-(-X.shape[0] // workers),
                **shared,
            )
        n_terms = X.shape[1]

        def transform(Y):
            gamma, _ = model.inference(_bow(Y))
            return gamma / gamma.sum(axis=1, keepdims=True)

        return _Fitted(model.get_topics()[:, :n_terms], transform)

    return fit


def _tomotopy(K, sweeps):
    import tomotopy as tp

    def documents(X):
        X = sp.csr_matrix(X)
        return [
            np.repeat(X.indices[a:b], X.data[a:b].astype(int)).astype(str).tolist()
            for a, b in zip(X.indptr[:-1], X.indptr[1:], strict=True)
        ]

    def fit(X, seed):
        model = tp.LDAModel(k=K, alpha=1.0 / K, eta=1.0 / K, seed=seed + 1)
        for words in documents(X):
            if words:
                model.add_doc(words)
        model.train(sweeps, workers=1)
        # tomotopy numbers the terms it has seen; map them back to the columns of X
        columns = np.array([int(word) for word in model.used_vocabs])
        topics = np.full((K, X.shape[1]), 1e-12)
        for k in range(K):
            topics[k, columns] = model.get_topic_word_dist(k)

        def transform(Y):
            rows = documents(Y)
            made = [model.make_doc(words) if words else None for words in rows]
            present = [doc for doc in made if doc is not None]
            inferred, _ = model.infer(present, iterations=100, workers=1)
            theta = np.full((len(rows), K), 1.0 / K)
            i = 0
            for r, doc in enumerate(made):
                if doc is not None:
                    theta[r] = inferred[i]
                    i += 1
            return theta

        return _Fitted(topics / topics.sum(axis=1, keepdims=True), transform)

    return fit


def _timed(fit, X, seed):
    start = time.perf_counter()
    fitted = fit(X, seed)
    return time.perf_counter() - start, fitted


def run(n_topics=20, passes=10, repeats=3, gibbs_sweeps=200, quick=False):
    """Rows of the results table (one per library and learning method)."""
    if quick:
        passes, repeats, gibbs_sweeps = 2, 1, 20
    train, test = _train_test()
    rows = []
    with threadpool_limits(limits=1):
        for method, n_jobs in (("batch", 1), ("online", 1), ("batch", -1)):
            libraries = {"emkit": _emkit(n_topics, passes, method, n_jobs)}
            libraries["scikit-learn"] = _sklearn(n_topics, passes, method, n_jobs)
            try:
                libraries["gensim"] = _gensim(n_topics, passes, method, n_jobs)
            except ImportError:
                pass
            times = {name: [] for name in libraries}
            perplexity = {name: [] for name in libraries}
            for seed in range(repeats):
                for name, fit in libraries.items():
                    seconds, fitted = _timed(fit, train, seed)
                    times[name].append(seconds / passes)
                    perplexity[name].append(_completion(fitted, test))
            ours = statistics.median(times["emkit"])
            for name in libraries:
                theirs = statistics.median(times[name])
                per_repeat = [t / e for t, e in zip(times[name], times["emkit"], strict=True)]
                rows.append(
                    {
                        "case": f"KJV chapters, K={n_topics}, {passes} passes, {method}"
                        + ("" if n_jobs == 1 else ", every core"),
                        "library": name,
                        "s/pass": theirs,
                        "emkit speed-up": theirs / ours,
                        "least speed-up": min(per_repeat),
                        "held-out perplexity": _spread(perplexity[name]),
                    }
                )
        try:
            seconds, fitted = _timed(_tomotopy(n_topics, gibbs_sweeps), train, 0)
        except ImportError:
            return rows
    rows.append(
        {
            "case": f"KJV chapters, K={n_topics}, {gibbs_sweeps} Gibbs sweeps",
            "library": "tomotopy (Gibbs)",
            "s/pass": seconds / gibbs_sweeps,
            "emkit speed-up": "",
            "least speed-up": "",
            "held-out perplexity": _completion(fitted, test),
        }
    )
    return rows


def _spread(values) -> str:
    """Mean and range of the repeats' values (one random start each)."""
    return f"{statistics.mean(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def _completion(fitted, test):
    """Document-completion perplexity on a fixed split (observed half, held-out half)."""
    return completion_perplexity(fitted, test, 0.5, random_state=0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(markdown_table(run(args.topics, args.passes, args.repeats), COLUMNS))
