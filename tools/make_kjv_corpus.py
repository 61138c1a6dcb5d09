"""Rebuild emkit's bundled King James Bible corpus: one bag-of-words document per chapter.

The text comes from Debian's ``bible-kjv`` program (packages ``bible-kjv`` and
``bible-kjv-text``; the King James Version is public domain), which prints the whole
Bible with ``bible -l1000 "gen1:1-rev22:21"``: a heading line ``Book N`` before each
of the 1,189 chapters, then one line per verse, ``  N text``.

Preprocessing, applied to every verse of a chapter:

1. lower-case; drop the possessive ``'s`` (``king's`` -> ``king``);
2. tokens are maximal runs of the letters a-z (verse numbers, punctuation and the
   apostrophe split words); tokens of one letter (``a``, ``o``, ``s``) are dropped;
3. stop words are removed: scikit-learn's ``ENGLISH_STOP_WORDS`` (318 words) plus
   :data:`ARCHAIC_STOP_WORDS`, the function words of Early Modern English that the
   KJV uses in place of modern ones (thee, thou, unto, hath, shalt, ...);
4. a term is kept when it occurs in at least :data:`MIN_CHAPTERS` chapters (5 of
   1,189): rarer terms are mostly proper names of one passage (genealogies, lists of
   towns) that no topic can be estimated from, and they would triple the vocabulary.

Output, in ``src/emkit/datasets/`` (UCI bag-of-words, the format of the UCI
"Bag of Words" collection, read by :func:`emkit.corpora.read_uci_bow`):

- ``kjv_chapters.docword.txt.gz``: ``D``, ``W``, ``NNZ``, then ``docID wordID count``
  triples (1-based), sorted by document then word; gzip with no name and mtime 0, so
  a rebuild is byte-identical;
- ``kjv_chapters.vocab.txt``: the ``W`` terms, one a line, in alphabetical order;
- ``kjv_chapters.titles.txt``: the ``D`` chapter titles (``Genesis 1``), in canonical
  order.

Run from the repository root (needs scikit-learn for its stop-word list)::

    .venv/bin/python tools/make_kjv_corpus.py

``--check`` rebuilds in memory and fails when the shipped files differ.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

BIBLE_COMMAND = ("bible", "-l1000", "gen1:1-rev22:21")
N_CHAPTERS = 1189
MIN_CHAPTERS = 5
OUTPUT = Path(__file__).resolve().parent.parent / "src" / "emkit" / "datasets"
STEM = "kjv_chapters"

#: Early Modern English function words: pronouns, auxiliaries and their -est/-st
#: forms, archaic adverbs and conjunctions. They play the part of words that are
#: in scikit-learn's list (you, your, has, will, ...), so they go for the same reason.
ARCHAIC_STOP_WORDS = frozenset(
    """
    thee thou thy thine thyself ye unto hath hast shall shalt saith doth dost art
    wilt wast wert didst hadst canst couldest shouldest wouldest mayest mightest
    yea nay lo behold verily lest wherefore whereof whereto wherewith thereof
    therewith thereto thereon hither thither whither
    """.split()
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | ARCHAIC_STOP_WORDS

_HEADING = re.compile(r"^(?P<book>(?:[123] )?[A-Z][A-Za-z ]*?) (?P<chapter>\d+)$")
_VERSE = re.compile(r"^\s+\d+ (?P<text>.*)$")
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[a-z]{2,}")


def bible_text() -> str:
    """The whole KJV as ``bible`` prints it."""
    try:
        result = subprocess.run(BIBLE_COMMAND, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        sys.exit("the `bible` program is missing: apt-get install bible-kjv")
    return result.stdout


def chapters(text: str) -> list[tuple[str, list[str]]]:
    """(title, verses) per chapter, in the order printed."""
    out: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if heading := _HEADING.match(line):
            out.append((f"{heading['book']} {heading['chapter']}", []))
        elif (verse := _VERSE.match(line)) and out:
            out[-1][1].append(verse["text"])
        else:
            raise ValueError(f"line {number} is neither a chapter heading nor a verse: {line!r}")
    if len(out) != N_CHAPTERS:
        raise ValueError(f"expected {N_CHAPTERS} chapters, found {len(out)}")
    return out


def tokens(verses: list[str]) -> list[str]:
    """The chapter's terms after steps 1-3 of the module docstring."""
    words = []
    for verse in verses:
        words.extend(
            word
            for word in _WORD.findall(_POSSESSIVE.sub("", verse.lower()))
            if word not in STOP_WORDS
        )
    return words


def build() -> dict[str, bytes]:
    """The three output files, name -> bytes."""
    parsed = chapters(bible_text())
    counts = [Counter(tokens(verses)) for _, verses in parsed]
    chapter_frequency = Counter(word for chapter in counts for word in chapter)
    vocabulary = sorted(w for w, df in chapter_frequency.items() if df >= MIN_CHAPTERS)
    ids = {word: i for i, word in enumerate(vocabulary, start=1)}
    triples = [
        f"{d} {ids[w]} {n}"
        for d, chapter in enumerate(counts, start=1)
        for w, n in sorted(chapter.items(), key=lambda item: ids.get(item[0], 0))
        if w in ids
    ]
    docword = "\n".join([str(len(counts)), str(len(vocabulary)), str(len(triples)), *triples])
    buffer = io.BytesIO()
    # no file name and mtime 0 in the gzip header: rebuilding gives the same bytes
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write((docword + "\n").encode("ascii"))
    return {
        f"{STEM}.docword.txt.gz": buffer.getvalue(),
        f"{STEM}.vocab.txt": ("\n".join(vocabulary) + "\n").encode("ascii"),
        f"{STEM}.titles.txt": ("\n".join(t for t, _ in parsed) + "\n").encode("ascii"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder to write to")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        stale = [n for n, data in files.items() if (args.output / n).read_bytes() != data]
        for name in stale:
            print(f"{args.output / name} differs from a rebuild", file=sys.stderr)
        return 1 if stale else 0
    for name, data in files.items():
        (args.output / name).write_bytes(data)
        print(f"{args.output / name}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
