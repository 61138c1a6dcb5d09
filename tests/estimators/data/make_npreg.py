"""Regenerate ``npreg.csv``: flexmix's NPreg design (``ExNPreg``), drawn with NumPy.

Two latent classes of 100 rows each, x ~ U(0, 10); class 1: yn = 5 x + 3 e, class 2:
yn = 40 - (x - 5)^2 + 3 e, e ~ N(0, 1) (flexmix 2.3-18, ``flexmix::ExNPreg``). The
column ``start`` is a random partition of the rows into two components, from which
emkit and flexmix both start. Run from this folder: ``python make_npreg.py``.
"""

import numpy as np

rng = np.random.RandomState(2602)
n = 100
x = rng.uniform(0.0, 10.0, 2 * n)
yn = np.concatenate([5.0 * x[:n], 40.0 - (x[n:] - 5.0) ** 2]) + 3.0 * rng.standard_normal(2 * n)
cls = np.repeat([1, 2], n)
start = rng.randint(1, 3, size=2 * n)
with open("npreg.csv", "w") as out:
    out.write("x,yn,class,start\n")
    for row in zip(x, yn, cls, start, strict=True):
        out.write(f"{float(row[0])!r},{float(row[1])!r},{row[2]},{row[3]}\n")
