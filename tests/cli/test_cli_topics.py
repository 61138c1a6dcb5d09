"""The command line's topic models: ``emkit fit CORPUS --model lda`` on every corpus format,
``emkit topics`` (with the vocabulary kept in the model file, or ``--vocab``), the
commands on saved topic models (predict, score, info) and their errors.

One round trip runs ``emkit`` in subprocesses (what a user types, on the bundled KJV
corpus written as UCI files); the rest run in-process through :func:`emkit.cli.main`.
"""

from __future__ import annotations

import gzip
import json
import shutil
from importlib import resources

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from test_cli import assert_one_line_error, run_cli
from test_cli_options import one_line_error, run_main

import emkit
from emkit.cli import main
from emkit.estimators.lda import LatentDirichletAllocation
from emkit.estimators.plsa import PLSA
from emkit.io import read_metadata, save
from emkit.topics import top_words

WORDS = ["apple", "pear", "plum", "fig", "car", "bus", "van", "tram"]
FIT = ["--model", "lda", "-k", "2", "--random-state", "0", "-q"]


def _counts() -> sp.csr_matrix:
    """30 documents over WORDS: fruit documents, vehicle documents, one empty document."""
    rng = np.random.default_rng(4)
    fruit = np.r_[np.full(4, 0.22), np.full(4, 0.03)]
    rows = [rng.multinomial(20, fruit if d % 2 else fruit[::-1]) for d in range(29)]
    return sp.csr_matrix(np.vstack([*rows, np.zeros(8, dtype=int)]))


def write_ldac(path, X) -> None:
    lines = []
    for row in X:
        pairs = [f"{j}:{c}" for j, c in zip(row.indices, row.data, strict=True)]
        lines.append(" ".join([str(len(pairs)), *pairs]))
    path.write_text("\n".join(lines) + "\n")


def write_uci(docword, vocab, X, words) -> None:
    coo = X.tocoo()
    triples = [f"{d + 1} {w + 1} {c}" for d, w, c in zip(coo.row, coo.col, coo.data, strict=True)]
    text = "\n".join([str(X.shape[0]), str(X.shape[1]), str(X.nnz), *triples]) + "\n"
    if str(docword).endswith(".gz"):
        docword.write_bytes(gzip.compress(text.encode()))
    else:
        docword.write_text(text)
    vocab.write_text("\n".join(words) + "\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder with one corpus in every format (and a vocabulary file), and its counts."""
    folder = tmp_path_factory.mktemp("corpus")
    X = _counts()
    write_ldac(folder / "toy.ldac", X)
    (folder / "toy.ldac.vocab").write_text("\n".join(WORDS) + "\n")  # gensim's convention
    write_ldac(folder / "bare.ldac", X)
    scipy.io.mmwrite(folder / "toy.mtx", X)
    write_uci(folder / "docword.toy.txt", folder / "vocab.toy.txt", X, WORDS)
    (folder / "gz").mkdir()
    write_uci(folder / "gz" / "docword.toy.txt.gz", folder / "gz" / "vocab.toy.txt", X, WORDS)
    dense = X.toarray()
    np.savetxt(folder / "toy.csv", dense, fmt="%d", delimiter=",", header=",".join(WORDS),
               comments="")  # fmt: skip
    np.savetxt(folder / "plain.csv", dense, fmt="%d", delimiter=",")
    (folder / "words.txt").write_text("\n".join(WORDS) + "\n")
    (folder / "short.txt").write_text("\n".join(WORDS[:5]) + "\n")
    return folder, X


@pytest.fixture(scope="module")
def reference(corpus):
    _, X = corpus
    return LatentDirichletAllocation(2, random_state=0).fit(X)


@pytest.fixture(scope="module")
def fitted(corpus, tmp_path_factory):
    """A model fitted by ``emkit fit`` on the LDA-C file (vocabulary from toy.ldac.vocab)."""
    folder, _ = corpus
    path = tmp_path_factory.mktemp("fitted") / "lda.npz"
    assert main(["fit", str(folder / "toy.ldac"), *FIT, "-o", str(path)]) == 0
    return path


# -- fit on every format ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt", "vocabulary"),
    [
        ("toy.ldac", "ldac", "toy.ldac.vocab"),
        ("bare.ldac", "ldac", None),
        ("toy.mtx", "mtx", None),
        ("docword.toy.txt", "uci", "vocab.toy.txt"),
        ("gz/docword.toy.txt.gz", "uci", "vocab.toy.txt"),
        ("toy.csv", "csv", "the header"),
        ("plain.csv", "csv", None),
    ],
)
def test_every_corpus_format_gives_the_library_fit(corpus, reference, tmp_path, capsys, name,
                                                   fmt, vocabulary):  # fmt: skip
    folder, X = corpus
    model_path = tmp_path / "m.npz"
    code, out, err = run_main(["fit", folder / name, *FIT, "--json", "-o", model_path], capsys)
    assert code == 0, err
    summary = json.loads(out)
    data = summary["data"]
    assert (data["format"], data["n_documents"], data["n_terms"]) == (fmt, 30, 8)
    assert data["n_tokens"] == X.sum() == 29 * 20 and data["n_empty_documents"] == 1
    assert (data["vocabulary"] or "").endswith(vocabulary or "")
    assert summary["kind"] == "lda" and summary["model"] == "LatentDirichletAllocation"
    model = emkit.load(model_path)
    np.testing.assert_allclose(model.components_, reference.components_, rtol=1e-12)
    assert summary["perplexity"] == pytest.approx(reference.perplexity(X), rel=1e-12)
    assert summary["bound"] == pytest.approx(reference.score(X), rel=1e-12)
    saved = read_metadata(model_path).get("user", {}).get("vocabulary")
    if vocabulary is None:
        assert saved is None and summary["top_words"] is None
    else:
        assert saved == WORDS
        expected = [[w for w, _ in topic] for topic in top_words(reference, WORDS, 8)]
        assert summary["top_words"] == expected


def test_the_text_summary(corpus, capsys):
    folder, _ = corpus
    code, out, _ = run_main(["fit", folder / "docword.toy.txt", *FIT], capsys)
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["model"].strip() == "LatentDirichletAllocation, 2 topics"
    assert lines["data"].strip() == (
        f"{folder / 'docword.toy.txt'} (UCI bag of words): 30 documents x 8 terms, 580 "
        f"tokens, 1 empty documents, vocabulary from {folder / 'vocab.toy.txt'}"
    )
    for label in ("converged", "bound per word", "perplexity", "doc-topic prior", "written"):
        assert label in lines
    topics = {lines["topic 0"].split()[0], lines["topic 1"].split()[0]}
    assert topics <= set(WORDS) and len(lines["topic 0"].split()) == 8
    code, out, _ = run_main(["fit", folder / "toy.mtx", *FIT], capsys)
    assert "no vocabulary (give --vocab FILE for words)" in out
    assert "top words:" in out and "topic 0:" not in out


def test_vocab_option_gives_the_words_of_any_format(corpus, tmp_path, capsys):
    folder, _ = corpus
    for name in ("toy.mtx", "bare.ldac", "plain.csv", "toy.csv"):
        path = tmp_path / f"{name}.npz"
        argv = ["fit", folder / name, *FIT, "--vocab", folder / "words.txt", "-o", path]
        assert run_main(argv, capsys)[0] == 0
        assert read_metadata(path)["user"]["vocabulary"] == WORDS


def test_an_ldac_vocabulary_may_have_terms_no_document_uses(corpus, tmp_path, capsys):
    folder, X = corpus
    write_ldac(tmp_path / "c.ldac", X[:, :6])  # the last two terms unused: width 6 alone
    code, out, _ = run_main(["fit", tmp_path / "c.ldac", *FIT, "--json", "--vocab",
                             folder / "words.txt"], capsys)  # fmt: skip
    assert code == 0 and json.loads(out)["data"]["n_terms"] == 8


def test_options_reach_the_estimator(corpus, tmp_path, capsys):
    folder, X = corpus
    path = tmp_path / "m.npz"
    argv = ["fit", folder / "toy.ldac", *FIT, "--learn", "topics,doc_topic_prior",
            "--doc-topic-prior", "0.3", "--topic-word-prior", "0.2", "--max-iter", "7",
            "--tol", "0", "--n-jobs", "2", "--chunk-size", "4", "-o", path]  # fmt: skip
    code, _, err = run_main(argv, capsys)
    assert code == 0, err
    model = emkit.load(path)
    assert model.doc_topic_prior == 0.3 and model.topic_word_prior == 0.2
    assert list(model.learn) == ["topics", "doc_topic_prior"] and model.n_iter_ == 7
    assert (model.n_jobs, model.chunk_size) == (2, 4)
    with pytest.warns(Warning):  # few iterations: not converged
        expected = LatentDirichletAllocation(
            2, learn=("topics", "doc_topic_prior"), doc_topic_prior=0.3, topic_word_prior=0.2,
            max_iter=7, tol=0, random_state=0, n_jobs=2, chunk_size=4,
        ).fit(X)  # fmt: skip
    np.testing.assert_array_equal(model.doc_topic_prior_, expected.doc_topic_prior_)
    assert not np.allclose(model.doc_topic_prior_, 0.3)  # learned
    online = tmp_path / "online.npz"
    argv = ["fit", folder / "toy.ldac", *FIT, "--learning-method", "online", "--batch-size",
            "8", "--max-iter", "3", "-o", online]  # fmt: skip
    assert run_main(argv, capsys)[0] == 0
    model = emkit.load(online)
    assert (model.learning_method, model.batch_size, model.n_iter_) == ("online", 8, 3)
    squarem = tmp_path / "squarem.npz"
    argv = ["fit", folder / "toy.ldac", *FIT, "--accelerate", "squarem", "-o", squarem]
    assert run_main(argv, capsys)[0] == 0
    assert emkit.load(squarem).accelerate == "squarem"


def test_fit_draws_the_top_words(corpus, tmp_path, capsys):
    folder, _ = corpus
    figure = tmp_path / "words.png"
    assert run_main(["fit", folder / "toy.ldac", *FIT, "--plot", figure], capsys)[0] == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plsa_with_tempering_and_priors(corpus, tmp_path, capsys):
    folder, X = corpus
    path = tmp_path / "plsa.npz"
    argv = ["fit", folder / "docword.toy.txt", "--model", "plsa", "-k", "2", "--tempering",
            "0.9", "--topic-word-prior", "1.2", "--random-state", "0", "-q", "--json", "-o",
            path]  # fmt: skip
    code, out, err = run_main(argv, capsys)
    assert code == 0, err
    summary = json.loads(out)
    expected = PLSA(2, tempering=0.9, topic_word_prior=1.2, random_state=0).fit(X)
    model = emkit.load(path)
    assert (model.tempering, model.topic_word_prior) == (0.9, 1.2)
    np.testing.assert_allclose(model.components_, expected.components_, rtol=1e-12)
    assert summary["kind"] == "plsa" and summary["model"] == "PLSA"
    assert summary["log_likelihood"] == pytest.approx(expected.score(X), rel=1e-12)
    assert summary["perplexity"] == pytest.approx(expected.perplexity(X), rel=1e-12)
    assert summary["top_words"] == [[w for w, _ in t] for t in top_words(expected, WORDS, 8)]
    code, out, _ = run_main(["topics", path, "-n", "2", "--json"], capsys)
    assert code == 0 and json.loads(out)["class"] == "PLSA"
    code, out, _ = run_main(["score", path, folder / "toy.mtx", "--json"], capsys)
    assert json.loads(out)["log_likelihood"] == pytest.approx(expected.score(X), rel=1e-12)
    code, out, _ = run_main(["predict", path, folder / "toy.ldac", "--proba"], capsys)
    np.testing.assert_allclose(np.loadtxt(out.splitlines(), delimiter=","),
                               expected.transform(X), rtol=1e-8)  # fmt: skip
    code, out, _ = run_main(["info", path], capsys)
    assert code == 0 and "2 topics" in out
    assert "lower bound / word" in out and "/ sample" not in out
    line = one_line_error(["fit", folder / "toy.ldac", "--model", "plsa", "-k", "2",
                           "--learn", "topics"], capsys)  # fmt: skip
    assert "--learn does not apply to --model plsa" in line
    line = one_line_error(["fit", folder / "toy.ldac", "--model", "plsa", "-k", "2",
                           "--doc-topic-prior", "0.5", "-q"], capsys)  # fmt: skip
    assert "doc_topic_prior must be at least 1" in line
    assert one_line_error(["fit", folder / "toy.ldac", "--model", "lda", "-k", "2",
                           "--tempering", "0.5"], capsys).endswith(
        "--tempering does not apply to --model lda"
    )  # fmt: skip


# -- emkit topics -------------------------------------------------------------------------
def test_topics_prints_the_top_words_from_the_model_file(fitted, reference, capsys):
    code, out, _ = run_main(["topics", fitted, "-n", "3"], capsys)
    assert code == 0
    expected = top_words(reference, WORDS, 3)
    lines = out.splitlines()
    assert len(lines) == 2
    for k, (line, topic) in enumerate(zip(lines, expected, strict=True)):
        assert line == f"topic {k}: " + ", ".join(f"{w} {p:.4g}" for w, p in topic)
    code, out, _ = run_main(["topics", fitted, "--json"], capsys)
    about = json.loads(out)
    assert (about["n_topics"], about["n_terms"], about["vocabulary"]) == (2, 8, "the model file")
    expected = top_words(reference, WORDS, 8)  # the default 10 is more than the 8 words
    for k, topic in enumerate(about["topics"]):
        assert topic["topic"] == k and topic["words"] == [w for w, _ in expected[k]]
        np.testing.assert_allclose(topic["probabilities"], [p for _, p in expected[k]])


def test_topics_with_vocab_for_a_model_without_one(corpus, reference, tmp_path, capsys):
    folder, _ = corpus
    path = tmp_path / "bare.npz"
    assert run_main(["fit", folder / "toy.mtx", *FIT, "-o", path], capsys)[0] == 0
    line = one_line_error(["topics", path], capsys)
    assert f"{path} keeps no vocabulary" in line and "--vocab FILE: 8 words" in line
    code, out, _ = run_main(["topics", path, "--vocab", folder / "words.txt", "-n", "2"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith(f"topic 0: {top_words(reference, WORDS, 1)[0][0][0]} ")
    renamed = [w.upper() for w in WORDS]
    (tmp_path / "upper.txt").write_text("\n".join(renamed))
    code, out, _ = run_main(["topics", path, "--vocab", tmp_path / "upper.txt", "--json"], capsys)
    assert json.loads(out)["vocabulary"] == str(tmp_path / "upper.txt")
    assert set(json.loads(out)["topics"][0]["words"]) == set(renamed)


def test_topics_errors(corpus, fitted, tmp_path, capsys):
    folder, _ = corpus
    line = one_line_error(["topics", fitted, "--vocab", folder / "short.txt"], capsys)
    assert f"--vocab {folder / 'short.txt'} has 5 words but the model" in line
    assert "has 8 terms" in line
    line = one_line_error(["topics", fitted, "--vocab", tmp_path / "absent.txt"], capsys)
    assert "vocabulary file not found" in line
    (tmp_path / "holes.txt").write_text("a\n\nb\n")
    assert "line 2 is blank" in one_line_error(["topics", fitted, "--vocab",
                                                 tmp_path / "holes.txt"], capsys)  # fmt: skip
    X = emkit.datasets.load_old_faithful().data
    gmm = save(emkit.GaussianMixture(2, random_state=0).fit(X), tmp_path / "gmm.npz")
    line = one_line_error(["topics", gmm], capsys)
    assert "holds a GaussianMixture, which has no topics" in line
    error = _parse_error(["topics", fitted, "-n", "0"], capsys)
    assert "-n/--n-words: expected an integer >= 1, got '0'" in error[-1]


def test_a_tampered_vocabulary_is_named(corpus, fitted, tmp_path, capsys):
    model = emkit.load(fitted)
    for value in (WORDS[:3], "apple", [1] * 8):
        path = save(model, tmp_path / "t.npz", metadata={"vocabulary": value})
        line = one_line_error(["topics", path], capsys)
        assert "the vocabulary in the file's metadata is not a list of 8 words" in line


def _parse_error(argv, capsys) -> list[str]:
    """The stderr lines of an argparse error (exit status 2)."""
    with pytest.raises(SystemExit) as exit:
        main([str(arg) for arg in argv])
    assert exit.value.code == 2
    return capsys.readouterr().err.splitlines()


# -- commands on a saved topic model ------------------------------------------------------
def test_predict_score_and_info(corpus, fitted, reference, capsys):
    folder, X = corpus
    code, out, _ = run_main(["predict", fitted, folder / "toy.mtx", "--proba"], capsys)
    assert code == 0
    np.testing.assert_allclose(np.loadtxt(out.splitlines(), delimiter=","),
                               reference.transform(X), rtol=1e-8)  # fmt: skip
    code, out, _ = run_main(["predict", fitted, folder / "docword.toy.txt"], capsys)
    labels = np.array(out.split(), dtype=int)
    np.testing.assert_array_equal(labels, reference.transform(X).argmax(axis=1))
    code, out, _ = run_main(["score", fitted, folder / "toy.csv", "--json"], capsys)
    assert code == 0
    score = json.loads(out)
    assert score["n_documents"] == 30 and score["n_tokens"] == 580
    assert score["perplexity"] == pytest.approx(reference.perplexity(X), rel=1e-12)
    code, out, _ = run_main(["info", fitted, "--json"], capsys)
    about = json.loads(out)
    assert about["class"] == "LatentDirichletAllocation"
    np.testing.assert_allclose(about["parameters"]["components"], reference.components_)
    code, out, _ = run_main(["info", fitted], capsys)
    assert "2 topics" in out and "apple" in out


def test_documents_for_a_saved_model_must_match_its_vocabulary(corpus, fitted, tmp_path, capsys):
    _, X = corpus
    scipy.io.mmwrite(tmp_path / "narrow.mtx", X[:, :6])
    line = one_line_error(["score", fitted, tmp_path / "narrow.mtx"], capsys)
    assert "narrow.mtx has 6 terms (columns) but the model" in line and "fitted on 8" in line
    swapped = WORDS[1::-1] + WORDS[2:]
    write_uci(tmp_path / "docword.x.txt", tmp_path / "vocab.x.txt", X, swapped)
    line = one_line_error(["predict", fitted, tmp_path / "docword.x.txt"], capsys)
    assert "is not the model's: term 0 is 'pear' there and 'apple'" in line
    # an LDA-C file is as wide as the model: its unused last terms are not missing
    write_ldac(tmp_path / "few.ldac", X[:, :6])
    assert run_main(["score", fitted, tmp_path / "few.ldac"], capsys)[0] == 0


# -- fit errors -----------------------------------------------------------------------------
def test_fit_errors_are_one_line(corpus, tmp_path, capsys):
    folder, _ = corpus
    shutil.copy(folder / "toy.ldac", tmp_path / "toy.dat")
    line = one_line_error(["fit", tmp_path / "toy.dat", *FIT], capsys)
    assert "cannot tell the corpus format from the file name" in line
    assert "--corpus-format" in line
    argv = ["fit", tmp_path / "toy.dat", *FIT, "--corpus-format", "ldac", "--json"]
    code, out, _ = run_main(argv, capsys)
    assert code == 0 and json.loads(out)["data"]["n_terms"] == 8
    line = one_line_error(["fit", folder / "toy.mtx", *FIT, "--vocab", folder / "short.txt"],
                          capsys)  # fmt: skip
    assert "has 5 words but" in line and "toy.mtx has 8 terms" in line
    line = one_line_error(["fit", folder / "bare.ldac", *FIT, "--vocab", folder / "short.txt"],
                          capsys)  # fmt: skip
    assert "term id 5 is beyond n_terms=5" in line and "short.txt) has 5 terms" in line
    line = one_line_error(["fit", folder / "toy.ldac", "--model", "lda"], capsys)
    assert "--n-components is required for --model lda" in line
    assert "expected an integer >= 1, got '0'" in _parse_error(
        ["fit", folder / "toy.ldac", "--model", "lda", "-k", "0"], capsys)[-1]  # fmt: skip
    line = one_line_error(["fit", folder / "toy.ldac", *FIT, "--columns", "0,1"], capsys)
    assert "--columns does not apply to the topic models" in line
    line = one_line_error(["fit", folder / "toy.csv", "-k", "2", "--vocab", "w.txt"], capsys)
    assert "--vocab does not apply to --model gmm" in line
    line = one_line_error(["fit", tmp_path / "absent.ldac", *FIT], capsys)
    assert "corpus file not found" in line


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("bad.ldac", "2 0:1 1:2\n1 3:x\n", ["bad.ldac, line 2", "count 'x' of term 3"]),
        ("bad.mtx", "not a matrix\n", ["bad.mtx", "Matrix Market"]),
        ("docword.bad.txt", "2\n3\n1\n1 9 1\n", ["docword.bad.txt, line 4", "wordID 9"]),
        ("bad.csv", "a,b\n1,2\n3,-1\n", ["X[1, 1] = -1.0 is negative", "line 3, column 2 ('b')"]),
        ("bad.csv", "a,b\n1,2\n3,0.5\n", ["not an integer", "line 3, column 2 ('b')"]),
        ("empty.ldac", "0\n0\n", ["empty.ldac: X has 0 terms"]),
        ("zeros.csv", "a,b\n0,0\n0,0\n", ["zeros.csv: X has no words"]),
        ("binary.ldac", b"\xff\xfe\x00", ["not a LDA-C text file (not UTF-8)"]),
    ],
)
def test_bad_corpus_files_are_one_line_errors(tmp_path, capsys, name, content, fragments):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    line = one_line_error(["fit", path, *FIT], capsys)
    for fragment in fragments:
        assert fragment in line, line


# -- the real corpus, end to end in subprocesses --------------------------------------------
def test_kjv_as_uci_files_through_fit_and_topics(tmp_path):
    data = resources.files("emkit.datasets")
    for name in ("kjv_chapters.docword.txt.gz", "kjv_chapters.vocab.txt"):
        (tmp_path / name).write_bytes(data.joinpath(name).read_bytes())
    result = run_cli(
        "fit", "kjv_chapters.docword.txt.gz", "--model", "lda", "-k", "3", "--max-iter", "3",
        "--random-state", "0", "-o", "kjv.npz", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1189 documents x 4377 terms, 267260 tokens" in result.stdout
    assert "vocabulary from kjv_chapters.vocab.txt" in result.stdout
    corpus = emkit.datasets.load_kjv_chapters()
    model = emkit.load(tmp_path / "kjv.npz")
    with pytest.warns(Warning):  # 3 iterations: not converged
        expected = LatentDirichletAllocation(3, max_iter=3, random_state=0).fit(corpus.counts)
    np.testing.assert_allclose(model.components_, expected.components_, rtol=1e-10)
    result = run_cli("topics", "kjv.npz", "-n", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["topic 0", "topic 1", "topic 2"]
    for line, topic in zip(lines, top_words(expected, corpus.vocabulary, 5), strict=True):
        assert [pair.split()[0] for pair in line.split(": ", 1)[1].split(", ")] == [
            w for w, _ in topic
        ]
    assert_one_line_error(
        run_cli("topics", "kjv.npz", "--vocab", "kjv_chapters.docword.txt.gz", cwd=tmp_path),
        "has 148245 words but the model", "has 4377 terms",
    )  # fmt: skip
