"""MotifFinder: the CRP sites, planted motifs, width search, erasing, chunking, bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from emkit.bio.motifs import MotifFinder
from emkit.bio.sequences import encode_sequences, read_fasta
from emkit.datasets import load_crp

COMPLEMENT = str.maketrans("ACGT", "TGCA")
#: planted in the simulations: not its own reverse complement in any shift
MOTIF = "GATTACAGGCTA"


def simulate(seed, motifs=(MOTIF,), n=30, length=150, p_site=1.0):
    """Random sequences with every motif planted (one letter changed in half the
    sites) on a random strand at random, non-overlapping positions, each with
    probability ``p_site``. Returns the sequences and [(start, strand, motif)] of each."""
    rng = np.random.RandomState(seed)
    sequences, truth = [], []
    for _ in range(n):
        letters = list(rng.choice(list("ACGT"), size=length))
        planted = []
        for k, motif in enumerate(motifs):
            if rng.rand() >= p_site:
                continue
            site = list(motif)
            if rng.rand() < 0.5:
                site[rng.randint(len(motif))] = rng.choice(list("ACGT"))
            site = "".join(site)
            strand = 1 if rng.rand() < 0.5 else -1
            if strand < 0:
                site = site[::-1].translate(COMPLEMENT)
            while True:
                j = rng.randint(length - len(motif) + 1)
                if all(abs(j - q) >= len(motif) + 2 for q, _, _ in planted):
                    break
            letters[j : j + len(motif)] = site
            planted.append((j, strand, k))
        sequences.append("".join(letters))
        truth.append(planted)
    return sequences, truth


def _best_sites(finder, motif=0):
    """{sequence: the first (best) site record} of one motif."""
    best = {}
    for row in finder.sites_[finder.sites_["motif"] == motif]:
        best.setdefault(int(row["sequence"]), row)
    return best


def _revcomp(text):
    return text[::-1].translate(COMPLEMENT)


# -- the CRP promoters ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def crp():
    return load_crp()


@pytest.mark.parametrize("model", ["oops", "zoops"])
def test_crp_sites_are_found(crp, model):
    """On the 18 CRP promoters the motif is TGTGA...TCACA, and the best site of at
    least 16 of them lies within 2 bp of a known 22-bp site (centre to centre: the
    motif is 20 wide)."""
    sequences, sites = crp
    W = 20
    finder = MotifFinder(width=W, model=model, random_state=0).fit(sequences)
    consensus = finder.consensus_[0]
    assert "TGTGA" in consensus and "TCACA" in consensus, consensus
    hits = 0
    for i, row in _best_sites(finder).items():
        known = sites.start[sites.sequence == i]
        centre = row["start"] + W / 2
        hits += np.min(np.abs(centre - (known + 11))) <= 2
    assert hits >= 16
    assert np.all(np.diff(finder.lower_bounds_[0]) >= 0)


def test_crp_site_records(crp):
    sequences, _ = crp
    finder = MotifFinder(width=16, model="oops", random_state=1).fit(sequences)
    sites = finder.sites_
    assert set(sites.dtype.names) >= {"sequence", "start", "strand", "score", "probability"}
    assert len(sites) == 18 and sorted(sites["sequence"]) == list(range(18))
    for row in sites:  # the site's letters are the sequence's, read on its strand
        text = sequences[row["sequence"]][1][row["start"] : row["start"] + 16]
        assert row["site"] == (text if row["strand"] == 1 else _revcomp(text))
    assert set(np.unique(sites["strand"])) <= {-1, 1}
    assert finder.motifs_[0].shape == (16, 4)
    np.testing.assert_allclose(finder.motifs_[0].sum(axis=1), 1.0)


# -- simulated sequences ---------------------------------------------------------------------
@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
def test_planted_motif_is_recovered(model):
    motif = MOTIF
    sequences, truth = simulate(0, (motif,), p_site=1.0 if model == "oops" else 0.7)
    finder = MotifFinder(width=len(motif), model=model, random_state=0).fit(sequences)
    consensus = finder.consensus_[0]
    assert consensus in (motif, _revcomp(motif))
    best = _best_sites(finder)
    planted = [(i, t[0][0]) for i, t in enumerate(truth) if t]
    found = sum(best[i]["start"] == j for i, j in planted)
    assert found >= 0.9 * len(planted)
    if model == "zoops":
        # γ near the planted fraction of sequences with a site
        assert finder.site_priors_[0] == pytest.approx(len(planted) / len(sequences), abs=0.1)


def test_tcm_finds_several_sites_per_sequence():
    motif = MOTIF
    sequences, truth = simulate(3, (motif, motif), n=15)
    finder = MotifFinder(width=12, model="tcm", random_state=0).fit(sequences)
    sites = finder.sites_
    for i, planted in enumerate(truth):
        rows = sites[sites["sequence"] == i]
        # the first row is the sequence's best site
        assert rows["probability"][0] == rows["probability"].max()
        found = {int(r["start"]) for r in rows if r["probability"] >= 0.5}
        assert sum(j in found for j, _, _ in planted) >= 1
    assert np.mean([len(sites[sites["sequence"] == i]) for i in range(15)]) > 1.5


def test_two_motifs_by_erasing():
    sequences, _ = simulate(1, (MOTIF, "CCGGTAAT"))
    finder = MotifFinder(
        width=(8, 12), n_motifs=2, model="zoops", max_starts=100, n_refine=1, random_state=0
    )
    finder.fit(sequences)
    assert finder.widths_[0] == 12
    assert finder.consensus_[0] in (MOTIF, _revcomp(MOTIF))
    # the second is the other motif (its width within one column of 8)
    assert finder.widths_[1] in (8, 9)
    assert "CCGGTAAT" in finder.consensus_[1] or _revcomp("CCGGTAAT") in finder.consensus_[1]
    assert list(np.unique(finder.sites_["motif"])) == [0, 1]


def test_width_search_picks_the_planted_width():
    sequences, _ = simulate(0)
    finder = MotifFinder(width=(9, 15), max_starts=100, n_refine=1, random_state=0)
    finder.fit(sequences)
    assert finder.widths_ == [12]
    assert sorted(finder.width_scores_[0]) == list(range(9, 16))


def test_chunked_fit_equals_in_memory():
    sequences, _ = simulate(2, n=20, length=80)
    one = MotifFinder(width=10, model="zoops", random_state=0).fit(sequences)
    chunked = MotifFinder(width=10, model="zoops", random_state=0, chunk_size=3, n_jobs=2)
    chunked.fit(sequences)
    np.testing.assert_allclose(chunked.motifs_[0], one.motifs_[0], rtol=1e-8, atol=1e-12)
    assert chunked.site_priors_[0] == pytest.approx(one.site_priors_[0], rel=1e-8)
    np.testing.assert_array_equal(chunked.sites_["start"], one.sites_["start"])
    np.testing.assert_allclose(chunked.sites_["probability"], one.sites_["probability"], rtol=1e-7)


def test_markov_background_and_protein():
    sequences, _ = simulate(4, n=20, length=100)
    finder = MotifFinder(width=12, background_order=2, random_state=0).fit(sequences)
    assert finder.consensus_[0] in (MOTIF, _revcomp(MOTIF))
    assert finder.background_.order == 2
    rng = np.random.RandomState(0)
    letters = list("ACDEFGHIKLMNPQRSTVWY")
    proteins = []
    for _ in range(12):
        seq = list(rng.choice(letters, 60))
        j = rng.randint(50)
        seq[j : j + 8] = list("WHKMCYPW")
        proteins.append("".join(seq))
    finder = MotifFinder(width=8, alphabet="protein", random_state=0).fit(proteins)
    assert finder.consensus_[0] == "WHKMCYPW"
    assert set(finder.sites_["strand"]) == {1}


def test_unknown_letters_and_lower_case():
    """Lower case reads as upper case; no site contains an N."""
    sequences, truth = simulate(5, n=20, length=60)
    masked = []
    for text, planted in zip(sequences, truth, strict=True):
        j = planted[0][0]
        text = text[:j].lower() + text[j:]
        # an N right after the site (outside it)
        stop = j + 12
        if stop < len(text):
            text = text[:stop] + "N" + text[stop + 1 :]
        masked.append(text)
    finder = MotifFinder(width=12, random_state=0).fit(masked)
    for row in finder.sites_:
        assert "N" not in row["site"]
    assert finder.consensus_[0] in (MOTIF, _revcomp(MOTIF))


# -- input -------------------------------------------------------------------------------------
def test_fasta_plain_and_gzipped(tmp_path, crp):
    sequences, _ = crp
    text = "".join(f">{name} some description\n{seq[:50]}\n{seq[50:]}\n" for name, seq in sequences)
    plain = tmp_path / "crp.fa"
    plain.write_text("; a comment\n" + text)
    zipped = tmp_path / "crp.fa.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    assert read_fasta(plain) == sequences
    assert read_fasta(zipped) == sequences
    a = MotifFinder(width=16, random_state=0).fit(str(zipped))
    b = MotifFinder(width=16, random_state=0).fit(sequences)
    np.testing.assert_array_equal(a.motifs_[0], b.motifs_[0])
    assert a.sequence_names_[0] == "ce1cg"


def test_letters_outside_the_alphabet_are_one_clear_error():
    with pytest.raises(ValueError, match=r"sequence 1 \('s2'\) has 'J' at position 3"):
        encode_sequences([("s1", "ACGT"), ("s2", "ACJT")])
    with pytest.raises(ValueError, match="not in the dna alphabet"):
        MotifFinder(width=3).fit(["ACGTACGT", "ACGT-ACGT"])
    with pytest.raises(ValueError, match="not in the protein alphabet"):
        MotifFinder(width=3, alphabet="protein").fit(["ACDE1FG"])


def test_short_sequences_are_one_clear_error():
    with pytest.raises(ValueError, match=r"sequence 1 \('sequence_2'\) has 5 letters, fewer"):
        MotifFinder(width=8).fit(["ACGTACGTACGT", "ACGTA"])
    with pytest.raises(ValueError, match="no 4 consecutive known letters"):
        MotifFinder(width=4, model="oops").fit(["ACGTACGT", "ACNNACNNA"])


def test_empty_inputs_are_one_clear_error(tmp_path):
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    with pytest.raises(ValueError, match="holds no sequences"):
        MotifFinder(width=5).fit(str(empty))
    headerless = tmp_path / "plain.txt"
    headerless.write_text("ACGTACGT\n")
    with pytest.raises(ValueError, match="not a FASTA file: line 1"):
        MotifFinder(width=5).fit(str(headerless))
    with pytest.raises(ValueError, match="no sequences given"):
        MotifFinder(width=5).fit([])
    with pytest.raises(FileNotFoundError, match="no such FASTA file"):
        MotifFinder(width=5).fit(str(tmp_path / "missing.fa"))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="model must be one of"):
        MotifFinder(model="twice").fit(["ACGTACGTACGTACGT"])
    with pytest.raises(ValueError, match="width must be an integer"):
        MotifFinder(width="wide").fit(["ACGTACGTACGTACGT"])
    with pytest.raises(ValueError, match="n_motifs must be an integer >= 1"):
        MotifFinder(width=4, n_motifs=0).fit(["ACGTACGTACGTACGT"])
