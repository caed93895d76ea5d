#!/usr/bin/python3
"""Regenerate tests/data/eval/: reference values for src/eval/ from SciPy.

t_ppf.txt      lines "p df scipy exact": scipy.stats.t.ppf(p, df) and the
               quantile solved to 17 digits with mpmath (40-digit regularized
               incomplete beta; scipy's own value is only good to about 1e-8),
               for p = 0.975, df = 1..1000 (the paired confidence intervals
               use these), and a few other p at selected df.
paired_ci.txt  one sample of paired values and scipy's t interval for the
               mean difference: first line "n mean lo hi", then n lines "a b".

Needs python3-scipy, python3-mpmath and python3-numpy. Run: /usr/bin/python3 tools/make_eval_fixtures.py
"""
import os

import mpmath as mp
import numpy as np
from scipy import stats

mp.mp.dps = 40


def t_exact(p, df):
    """Root of P(T > t) = 1 - p, with P(T > t) = I_{v/(v+t^2)}(v/2, 1/2) / 2."""
    if p < 0.5:
        return -t_exact(1 - p, df)
    v, q = mp.mpf(df), 1 - mp.mpf(p)
    f = lambda t: mp.betainc(v / 2, mp.mpf(1) / 2, 0, v / (v + t * t), regularized=True) / 2 - q
    return mp.findroot(f, mp.mpf(stats.t.ppf(p, df)))

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "eval")
os.makedirs(OUT, exist_ok=True)

with open(os.path.join(OUT, "t_ppf.txt"), "w") as f:
    for df in range(1, 1001):
        f.write("0.975 %d %.17g %s\n" % (df, stats.t.ppf(0.975, df), mp.nstr(t_exact(0.975, df), 17)))
    for p in (0.6, 0.9, 0.995, 0.9999, 0.025, 0.3):
        for df in (1, 2, 3, 5, 7, 10, 30, 100, 1000):
            f.write("%r %d %.17g %s\n" % (p, df, stats.t.ppf(p, df), mp.nstr(t_exact(p, df), 17)))

rng = np.random.RandomState(20261201)
n = 25
a = rng.normal(1.0, 0.7, n)
b = a - rng.normal(0.3, 0.5, n)
d = a - b
m = d.mean()
lo, hi = stats.t.interval(0.95, n - 1, loc=m, scale=stats.sem(d))
with open(os.path.join(OUT, "paired_ci.txt"), "w") as f:
    f.write("%d %.17g %.17g %.17g\n" % (n, m, lo, hi))
    for x, y in zip(a, b):
        f.write("%.17g %.17g\n" % (x, y))
