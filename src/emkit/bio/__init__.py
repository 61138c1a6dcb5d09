"""EM in bioinformatics, on the emkit engine.

Transcript abundance from equivalence classes (the EM inside kallisto and salmon) and
motif discovery (the EM inside MEME). Both keep to DESIGN's rule: the statistics are
expected counts, per transcript or per motif position and letter.
"""
