"""TranscriptQuantifier against kallisto's and salmon's own numbers on their data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emkit.bio.classes import EquivalenceClasses
from emkit.bio.kallisto import read_kallisto, read_kallisto_abundance
from emkit.bio.quantifier import TranscriptQuantifier, counts_to_tpm
from emkit.bio.salmon import read_salmon_eq_classes, read_salmon_quant

DATA = Path(__file__).parent / "data"
KALLISTO = DATA / "kallisto"
SALMON = DATA / "salmon"


@pytest.fixture(scope="module")
def kallisto_classes():
    return read_kallisto(KALLISTO / "pseudo", abundance=KALLISTO / "quant" / "abundance.tsv")


@pytest.fixture(scope="module")
def kallisto_reference():
    return read_kallisto_abundance(KALLISTO / "quant" / "abundance.tsv")


def test_kallisto_mode_reproduces_kallisto(kallisto_classes, kallisto_reference):
    fit = TranscriptQuantifier("kallisto").fit(kallisto_classes)
    np.testing.assert_allclose(fit.est_counts_, kallisto_reference["est_counts"], rtol=1e-3)
    np.testing.assert_allclose(fit.tpm_, kallisto_reference["tpm"], rtol=1e-3)
    # kallisto printed "ran for 52 rounds": rounds 0..52
    assert fit.n_iter_ == 53
    assert fit.converged_
    # its files hold 6 significant digits; the rest is kallisto's rounding of ℓ̃
    np.testing.assert_allclose(fit.est_counts_, kallisto_reference["est_counts"], rtol=2e-5)


@pytest.mark.parametrize("accelerate", ["daarem", "squarem", None])
def test_default_mode_reaches_at_least_kallistos_likelihood(
    kallisto_classes, kallisto_reference, accelerate
):
    fit = TranscriptQuantifier(accelerate=accelerate).fit(kallisto_classes)
    kallisto = fit.log_likelihood(kallisto_classes, kallisto_reference["est_counts"])
    assert fit.converged_
    assert fit.log_likelihood_ >= kallisto
    kallisto_mode = TranscriptQuantifier("kallisto").fit(kallisto_classes)
    assert fit.log_likelihood_ > kallisto_mode.log_likelihood_


@pytest.mark.parametrize("accelerate", ["daarem", "squarem"])
@pytest.mark.parametrize("prior", [None, "vb"])
def test_squarem_same_optimum_in_fewer_e_steps(kallisto_classes, prior, accelerate):
    plain = TranscriptQuantifier(tol=1e-13, prior=prior, accelerate=None).fit(kallisto_classes)
    fast = TranscriptQuantifier(tol=1e-13, prior=prior, accelerate=accelerate).fit(kallisto_classes)
    assert fast.n_e_steps_ < plain.n_e_steps_
    assert fast.lower_bounds_[-1] >= plain.lower_bounds_[-1] - 1e-12
    np.testing.assert_allclose(fast.est_counts_, plain.est_counts_, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("prior", [None, "vb"])
@pytest.mark.parametrize("accelerate", [None, "squarem", "daarem"])
def test_objective_is_monotone(kallisto_classes, prior, accelerate):
    fit = TranscriptQuantifier(prior=prior, accelerate=accelerate).fit(kallisto_classes)
    bounds = fit.lower_bounds_
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


@pytest.mark.parametrize("accelerate", [None, "squarem", "daarem"])
def test_salmon_em_numreads_reproduced(accelerate):
    classes = read_salmon_eq_classes(SALMON / "quant_em")
    reference = read_salmon_quant(SALMON / "quant_em" / "quant.sf")
    assert classes.weights is not None
    fit = TranscriptQuantifier(accelerate=accelerate).fit(classes)
    scale = np.maximum(reference["NumReads"], 1.0)
    # salmon stops at a 1% relative change, emkit at the optimum: within 0.1 read here
    assert np.max(np.abs(fit.est_counts_ - reference["NumReads"]) / scale) < 1e-3
    np.testing.assert_allclose(fit.tpm_, reference["TPM"], rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize(("run", "per_nucleotide"), [("quant_vb", False), ("quant_vb_nt", True)])
def test_salmon_vb_numreads_reproduced(run, per_nucleotide):
    classes = read_salmon_eq_classes(SALMON / run)
    reference = read_salmon_quant(SALMON / run / "quant.sf")
    fit = TranscriptQuantifier(prior="vb", per_nucleotide_prior=per_nucleotide).fit(classes)
    scale = np.maximum(reference["NumReads"], 1.0)
    assert np.max(np.abs(fit.est_counts_ - reference["NumReads"]) / scale) < 1e-3
    # the prior matters: the maximum-likelihood answer is further away
    ml = TranscriptQuantifier().fit(classes)
    assert np.max(np.abs(ml.est_counts_ - reference["NumReads"])) > np.max(
        np.abs(fit.est_counts_ - reference["NumReads"])
    )


def test_bootstraps_are_deterministic(kallisto_classes):
    kwargs = {"stopping": "kallisto", "n_bootstraps": 4}
    a = TranscriptQuantifier(**kwargs, random_state=3).fit(kallisto_classes)
    b = TranscriptQuantifier(**kwargs, random_state=3).fit(kallisto_classes)
    c = TranscriptQuantifier(**kwargs, random_state=4).fit(kallisto_classes)
    assert a.bootstrap_est_counts_.shape == (4, kallisto_classes.n_transcripts)
    np.testing.assert_array_equal(a.bootstrap_est_counts_, b.bootstrap_est_counts_)
    assert not np.array_equal(a.bootstrap_est_counts_, c.bootstrap_est_counts_)
    # every resample has the observed total, and bootstraps differ from each other
    np.testing.assert_allclose(a.bootstrap_est_counts_.sum(axis=1), kallisto_classes.n_reads)
    assert np.all(a.bootstrap_est_counts_.std(axis=0)[a.est_counts_ > 100] > 0)
    np.testing.assert_allclose(a.bootstrap_tpm_.sum(axis=1), 1e6)


@pytest.mark.parametrize("stopping", ["tol", "kallisto"])
def test_chunked_and_threaded_fit_equals_in_memory(kallisto_classes, stopping):
    whole = TranscriptQuantifier(stopping, n_jobs=1).fit(kallisto_classes)
    serial = TranscriptQuantifier(stopping, n_jobs=1, chunk_size=3).fit(kallisto_classes)
    threaded = TranscriptQuantifier(stopping, n_jobs=2, chunk_size=3).fit(kallisto_classes)
    # the same chunks are added in the same order whatever the threads
    np.testing.assert_array_equal(serial.est_counts_, threaded.est_counts_)
    assert serial.n_iter_ == whole.n_iter_
    if stopping == "kallisto":
        np.testing.assert_allclose(serial.est_counts_, whole.est_counts_, rtol=1e-9)
    else:
        # SQUAREM's extrapolations carry the chunks' rounding differences along
        # directions where the likelihood is flat: the likelihood agrees to every digit
        # (measured: equal), the estimates only to about 3e-7 on these classes
        assert serial.log_likelihood_ == pytest.approx(whole.log_likelihood_, rel=1e-13)
        np.testing.assert_allclose(serial.est_counts_, whole.est_counts_, rtol=1e-5)


def test_chunked_plain_em_equals_in_memory(kallisto_classes):
    whole = TranscriptQuantifier(accelerate=None, n_jobs=1).fit(kallisto_classes)
    chunked = TranscriptQuantifier(accelerate=None, n_jobs=2, chunk_size=3).fit(kallisto_classes)
    np.testing.assert_allclose(chunked.est_counts_, whole.est_counts_, rtol=1e-12)
    assert chunked.n_iter_ == whole.n_iter_


def test_gene_sums(kallisto_classes):
    names = kallisto_classes.names
    gene_map = {name: f"gene{i % 3}" for i, name in enumerate(names)}
    fit = TranscriptQuantifier("kallisto", gene_map=gene_map).fit(kallisto_classes)
    assert fit.genes_ == ["gene0", "gene1", "gene2"]
    for g, gene in enumerate(fit.genes_):
        members = [i for i, name in enumerate(names) if gene_map[name] == gene]
        assert fit.gene_est_counts_[g] == pytest.approx(fit.est_counts_[members].sum())
        assert fit.gene_tpm_[g] == pytest.approx(fit.tpm_[members].sum())
    with pytest.raises(ValueError, match="not in the gene map"):
        TranscriptQuantifier(gene_map={names[0]: "g"}).fit(kallisto_classes)


def test_classes_without_lengths_or_names():
    classes = EquivalenceClasses([[0], [0, 1], [1, 2]], [10, 5, 5])
    fit = TranscriptQuantifier(accelerate="squarem").fit(classes)
    assert fit.est_counts_.sum() == pytest.approx(20.0)
    np.testing.assert_allclose(fit.tpm_, counts_to_tpm(fit.est_counts_, None))
    assert fit.names_ is None


def test_bad_uses_get_one_clear_error(kallisto_classes):
    with pytest.raises(TypeError, match="EquivalenceClasses"):
        TranscriptQuantifier().fit([[0, 1]])
    with pytest.raises(ValueError, match="nothing to quantify"):
        TranscriptQuantifier().fit(EquivalenceClasses([[0]], [0]))
    with pytest.raises(ValueError, match="stopping"):
        TranscriptQuantifier("salmon").fit(kallisto_classes)
