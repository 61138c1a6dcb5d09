"""``emkit topics``: the top words of every topic of a topic model file, with their
probabilities (the rows of ``components_`` normalised to 1), as ``topic k:`` lines or one
JSON object.

The words come from ``--vocab FILE`` (one word per line, in the order of the term ids),
else from the vocabulary that ``emkit fit`` kept in the model file.
"""

from __future__ import annotations

from emkit.cli.common import CLIError, positive_int
from emkit.cli.corpus import read_vocabulary
from emkit.cli.inputs import load_model
from emkit.cli.report import Entry, add_json, print_report
from emkit.cli.topic_models import topic_words

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="model file written by 'emkit fit --model lda' (or plsa)"
    )
    parser.add_argument(
        "--vocab",
        metavar="FILE",
        help="the vocabulary, one word per line in the order of the term ids (default: the "
        "one the model file keeps)",
    )
    parser.add_argument(
        "-n",
        "--n-words",
        type=positive_int,
        default=10,
        help="words per topic (all of them when the vocabulary is smaller)",
    )
    add_json(parser, "every topic's words and probabilities")


def _words(model, vocab: str | None) -> tuple[tuple[str, ...], str]:
    """(the vocabulary, where it comes from) for ``model``: ``--vocab``, else the file's."""
    n_terms = int(model.estimator.n_features_in_)
    if vocab is not None:
        words = read_vocabulary(vocab)
        if len(words) != n_terms:
            raise CLIError(
                f"--vocab {vocab} has {len(words)} words but the model in {model.path} has "
                f"{n_terms} terms; give the vocabulary of the corpus it was fitted on (one "
                "word per line, in the order of the term ids)"
            )
        return words, vocab
    words = model.vocabulary
    if words is None:
        raise CLIError(
            f"{model.path} keeps no vocabulary (its corpus file had none, and fit was given "
            f"no --vocab); give one with --vocab FILE: {n_terms} words, one per line, in the "
            "order of the term ids"
        )
    return words, "the model file"


def run(args) -> int:
    from emkit.estimators._topic_base import TopicModel

    model = load_model(args.model)
    estimator = model.estimator
    if not isinstance(estimator, TopicModel):
        raise CLIError(
            f"{args.model} holds a {model.class_name}, which has no topics; 'emkit topics' "
            "takes a model file of 'emkit fit --model lda' (or plsa)"
        )
    words, source = _words(model, args.vocab)
    topics = topic_words(estimator, words, args.n_words)
    entries = [
        Entry(f"topic {k}", ", ".join(f"{word} {p:.4g}" for word, p in pairs))
        for k, pairs in enumerate(topics)
    ]
    fields = {
        "model": model.path,
        "class": model.class_name,
        "vocabulary": source,
        "n_topics": len(topics),
        "n_terms": len(words),
        "topics": [
            {"topic": k, "words": [w for w, _ in pairs], "probabilities": [p for _, p in pairs]}
            for k, pairs in enumerate(topics)
        ],
    }
    print_report([*entries, Entry("topics", None, fields)], as_json=args.json)
    return 0
