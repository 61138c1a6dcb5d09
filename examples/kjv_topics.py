"""Topics of the King James Bible by latent Dirichlet allocation (variational EM).

Fits emkit's LatentDirichletAllocation with 12 topics to the bundled KJV corpus (one
document per chapter), learning the doc-topic prior α, prints the top words of every
topic, and draws them with the mean topic proportions of each book's chapters.

Run:  python examples/kjv_topics.py [output.png]
"""

from __future__ import annotations

import sys

import emkit
from emkit.plot import new_figure, plot_document_topics, plot_top_words, save_figure
from emkit.topics import top_words

N_TOPICS = 12


def fit_kjv(n_topics: int = N_TOPICS, random_state: int = 0):
    """(corpus, fitted LDA) of the KJV chapters."""
    corpus = emkit.datasets.load_kjv_chapters()
    lda = emkit.LatentDirichletAllocation(
        n_topics, learn=("topics", "doc_topic_prior"), max_iter=200, random_state=random_state
    ).fit(corpus.counts)
    return corpus, lda


def main(output="docs/images/kjv_topics.png"):
    corpus, lda = fit_kjv()
    print(
        f"{lda.n_iter_} iterations, bound {lda.lower_bound_:.4f} per word, "
        f"learned alpha {lda.doc_topic_prior_.round(3)}"
    )
    for k, words in enumerate(top_words(lda, corpus.vocabulary, 8)):
        print(f"topic {k:2d}: " + " ".join(word for word, _ in words))
    books = [title.rsplit(" ", 1)[0] for title in corpus.titles]
    figure = new_figure(figsize=(15.0, 11.0))
    top, bottom = figure.subfigures(2, 1, height_ratios=(1.5, 1.0))
    plot_top_words(lda, corpus.vocabulary, n=8, n_cols=6, fig=top, title="Top words per topic")
    ax = bottom.subplots()
    plot_document_topics(
        lda.transform(corpus.counts),
        labels=books,
        ax=ax,
        title="Mean topic proportions of each book's chapters",
    )
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    print(f"wrote {save_figure(figure, output)}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
