#!/usr/bin/env python3
"""Fits the rational approximation hone's Erf kernels use: erf(x) = x·P(x²)/Q(x²) on [0, 3.92] (float32 erf
rounds to 1 beyond), P of degree 6 and Q of degree 4 with Q(0) = 1, minimising the largest relative error
(Sanathanan–Koerner linearised least squares on 4000 Chebyshev nodes, then Lawson reweighting) against mpmath.
Prints the coefficients (kernels/_asm/gen.go and kernels/math_generic.go hold them) and the largest relative error
of the float32 Horner evaluation on a dense grid. Needs python3-mpmath and python3-numpy (Debian)."""
import mpmath
import numpy as np

mpmath.mp.dps = 30
X_MAX = 3.92
M, N = 6, 4


def erf_over_x(x):
    return np.array([float(mpmath.erf(mpmath.mpf(v)) / mpmath.mpf(v)) for v in x])


def fit(iters=60):
    k = np.arange(4000)
    x = (np.cos(np.pi * (k + 0.5) / len(k)) + 1) / 2 * X_MAX
    f, t = erf_over_x(x), x * x
    w, q, best = np.ones(len(x)), np.ones(len(x)), None
    for it in range(iters):
        a = np.hstack([t[:, None] ** np.arange(M + 1), -f[:, None] * t[:, None] ** np.arange(1, N + 1)])
        s = np.sqrt(w) / (np.abs(f) * q)
        sol, *_ = np.linalg.lstsq(a * s[:, None], f * s, rcond=None)
        p, qq = sol[:M + 1], np.concatenate([[1.0], sol[M + 1:]])
        q = np.polyval(qq[::-1], t)
        err = (np.polyval(p[::-1], t) / q - f) / f
        if best is None or np.max(np.abs(err)) < best[0]:
            best = (np.max(np.abs(err)), p, qq)
        if it >= 10:
            w = w * np.abs(err)
            w /= w.sum()
    return best


def horner32(c, t):
    r = np.float32(c[-1])
    for v in c[-2::-1]:
        r = (r * t + np.float32(v)).astype(np.float32)
    return r


e, p, q = fit()
x = np.linspace(0, 4.5, 150001).astype(np.float32)[1:]
a = np.minimum(x, np.float32(X_MAX))
t = (a * a).astype(np.float32)
y = np.minimum(((a * horner32(p, t)).astype(np.float32) / horner32(q, t)).astype(np.float32), np.float32(1))
ref = np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in x])
print("P =", [float(np.float32(v)) for v in p])
print("Q =", [float(np.float32(v)) for v in q])
print("fit: max relative error %.3g; float32 Horner: %.3g" % (e, np.max(np.abs(y - ref) / ref)))
