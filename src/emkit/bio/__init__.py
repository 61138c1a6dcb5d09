"""EM in bioinformatics, on the emkit engine.

Transcript abundance from equivalence classes (the EM inside kallisto and salmon) and
motif discovery (the EM inside MEME). Both keep to DESIGN's rule: the statistics are
expected counts, per transcript or per motif position and letter.

Transcript abundance: :class:`EquivalenceClasses` (read by :func:`read_kallisto`
and :func:`read_salmon_eq_classes`), :class:`TranscriptQuantifier` (EM with
kallisto's own stopping rule or to a tolerance, SQUAREM, salmon's variational Bayes,
bootstraps, gene-level sums) and the writers of kallisto's ``abundance.tsv``
(:func:`write_kallisto_abundance`) and salmon's ``quant.sf``
(:func:`write_salmon_quant`).

Motifs: :class:`MotifFinder` (OOPS, ZOOPS and TCM; a Markov background; MEME's
starting points and erasing), sequences from FASTA (:func:`read_fasta`,
:func:`load_sequences`) and the files other tools read: MEME's minimal motif format
(:func:`write_meme`), JASPAR PFMs (:func:`write_jaspar`) and site lists
(:func:`write_sites`), each with its reader.
"""

from emkit.bio.background import MarkovBackground, fit_background
from emkit.bio.classes import EquivalenceClasses
from emkit.bio.examples import load_kallisto_example
from emkit.bio.genes import gene_sums, read_gene_map
from emkit.bio.kallisto import (
    kallisto_effective_lengths,
    read_fasta_lengths,
    read_kallisto,
    read_kallisto_abundance,
    read_kallisto_files,
    write_kallisto_abundance,
)
from emkit.bio.motif_files import (
    FileMotif,
    read_jaspar,
    read_meme,
    read_sites,
    write_jaspar,
    write_meme,
    write_sites,
)
from emkit.bio.motifs import MotifFinder, consensus, load_sequences
from emkit.bio.quantifier import TranscriptQuantifier, counts_to_tpm
from emkit.bio.salmon import read_salmon_eq_classes, read_salmon_quant, write_salmon_quant
from emkit.bio.sequences import (
    DNA,
    PROTEIN,
    Alphabet,
    EncodedSequences,
    encode_sequences,
    get_alphabet,
    read_fasta,
)

__all__ = [
    "DNA",
    "PROTEIN",
    "Alphabet",
    "EncodedSequences",
    "EquivalenceClasses",
    "FileMotif",
    "MarkovBackground",
    "MotifFinder",
    "TranscriptQuantifier",
    "consensus",
    "counts_to_tpm",
    "encode_sequences",
    "fit_background",
    "gene_sums",
    "get_alphabet",
    "kallisto_effective_lengths",
    "load_kallisto_example",
    "load_sequences",
    "read_fasta",
    "read_fasta_lengths",
    "read_gene_map",
    "read_jaspar",
    "read_kallisto",
    "read_kallisto_abundance",
    "read_kallisto_files",
    "read_meme",
    "read_salmon_eq_classes",
    "read_salmon_quant",
    "read_sites",
    "write_jaspar",
    "write_kallisto_abundance",
    "write_meme",
    "write_salmon_quant",
    "write_sites",
]
