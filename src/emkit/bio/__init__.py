"""EM in bioinformatics, on the emkit engine.

Transcript abundance from equivalence classes (the EM inside kallisto and salmon) and
motif discovery (the EM inside MEME). Both keep to DESIGN's rule: the statistics are
expected counts, per transcript or per motif position and letter.

Motifs: :class:`MotifFinder` (OOPS, ZOOPS and TCM; a Markov background; MEME's
starting points and erasing), sequences from FASTA (:func:`read_fasta`,
:func:`load_sequences`) and the files other tools read: MEME's minimal motif format
(:func:`write_meme`), JASPAR PFMs (:func:`write_jaspar`) and site lists
(:func:`write_sites`), each with its reader.
"""

from emkit.bio.background import MarkovBackground, fit_background
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
    "FileMotif",
    "MarkovBackground",
    "MotifFinder",
    "consensus",
    "encode_sequences",
    "fit_background",
    "get_alphabet",
    "load_sequences",
    "read_fasta",
    "read_jaspar",
    "read_meme",
    "read_sites",
    "write_jaspar",
    "write_meme",
    "write_sites",
]
