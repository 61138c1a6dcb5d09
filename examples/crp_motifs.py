"""Two motifs in the CRP promoters by EM (ZOOPS), drawn as sequence logos.

The 18 E. coli promoters of ``crp0.fa`` (105 bp each, bundled) bind the cAMP receptor
protein. MotifFinder fits a ZOOPS model (zero or one site per sequence, both strands)
of width 20 from the best of up to 500 substrings as starting points, finds a second
motif after erasing the first one's sites, and the figure shows both logos (letter
heights: probability times the column's information content, in bits). The same
figure as ``emkit motifs crp0.fa --width 20 --model zoops -n 2 -o crp --logo``.

Run:  python examples/crp_motifs.py [output.png]
"""

from __future__ import annotations

import sys

from emkit.bio import MotifFinder
from emkit.datasets import load_crp
from emkit.plot import new_figure, plot_logo, save_figure


def main(output: str = "docs/images/crp_logo.png") -> None:
    sequences, _ = load_crp()
    finder = MotifFinder(width=20, model="zoops", n_motifs=2, random_state=0).fit(sequences)
    for k, consensus in enumerate(finder.consensus_):
        print(f"motif {k + 1}: {consensus}, site prior {finder.site_priors_[k]:.3f}")
    n = len(finder.motifs_)
    figure = new_figure((0.45 * max(finder.widths_) + 1.0, 2.4 * n))
    for k in range(n):
        plot_logo(finder, index=k, ax=figure.add_subplot(n, 1, k + 1))
    print("figure:", save_figure(figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:2])
