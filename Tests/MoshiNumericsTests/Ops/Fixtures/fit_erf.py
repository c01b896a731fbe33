"""Fits the erf polynomials of CKernels' GELU (Sources/CKernels/mk_activation.c) and checks them.

    python fit_erf.py      # needs numpy and mpmath

On |x| <= 1: erf(x) = x c0 + x u Q(u), u = x^2, c0 = 2/sqrt(pi) as a float pair, Q of degree 6.
On 1 < |x| < 4: erf(x) = 1 - e^(-x^2) R(1/|x|), R of degree 10. Both are least-squares fits,
relative to the target, at 500 Chebyshev nodes, against mpmath at 40 digits. The coefficients
are rounded to float32 and printed as the C source holds them; then erf is evaluated in float32
with fused multiply-adds (emulated in double, which is exact for one product and one sum of
floats before the final rounding) and a correctly rounded e^x, and the worst error on [0, 4.5]
is printed (1.1 ulp when this was written; the C kernels' own e^x adds a fraction of an ulp).
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
f32 = np.float32
C0 = 2 / mp.sqrt(mp.pi)
C0_HI = f32(float(C0))
C0_LO = f32(float(C0 - mp.mpf(float(C0_HI))))


def chebyshev(lo, hi, n=500):
    return (np.cos(np.linspace(0, np.pi, n)) + 1) / 2 * (hi - lo) + lo


def fit(points, values, variable, degree):
    vander = np.vander(variable, degree + 1, increasing=True)
    coefficients, *_ = np.linalg.lstsq(vander / values[:, None], np.ones_like(values), rcond=None)
    return [f32(c) for c in coefficients]


def fit_q():
    u = chebyshev(1e-12, 1.0)
    x = np.sqrt(u)
    values = np.array([float((mp.erf(mp.mpf(xi)) / xi - C0) / mp.mpf(ui)) for xi, ui in zip(x, u)])
    return fit(x, values, u, 6)


def fit_r():
    x = chebyshev(1.0, 4.0)
    values = np.array([float(mp.erfc(mp.mpf(xi)) * mp.exp(mp.mpf(xi) ** 2)) for xi in x])
    return fit(x, values, 1 / x, 10)


def fma(a, b, c):
    return f32(float(a) * float(b) + float(c))


def horner(coefficients, z):
    p = f32(coefficients[-1])
    for c in coefficients[-2::-1]:
        p = fma(p, z, c)
    return p


def erf32(x, q, r):
    x = f32(x)
    a = f32(abs(x))
    if a <= 1:
        u = f32(x * x)
        return fma(x, C0_HI, f32(x * fma(u, horner(q, u), C0_LO)))
    if a >= 4:
        return f32(np.sign(x))
    h = f32(a * a)
    low = fma(a, a, -h)
    e = f32(np.exp(np.float64(-h)))
    e = fma(-e, low, e)
    return f32(np.sign(x)) * fma(-e, horner(r, f32(f32(1) / a)), f32(1))


def main():
    q, r = fit_q(), fit_r()
    print("#define ERF_C0_HI %.9ef" % C0_HI)
    print("#define ERF_C0_LO (%.9ef)" % C0_LO)
    print("ERF_Q:", ", ".join("%.9ef" % c for c in q))
    print("ERF_R:", ", ".join("%.9ef" % c for c in r))
    xs = np.concatenate([np.linspace(0, 4.5, 12001), np.geomspace(1e-6, 0.1, 300)]).astype(np.float32)
    worst, where = 0.0, 0.0
    for x in xs:
        want = float(mp.erf(mp.mpf(float(x))))
        error = abs(float(erf32(x, q, r)) - want) / float(np.spacing(np.float32(abs(want))))
        if error > worst:
            worst, where = error, float(x)
    print("worst error %.2f ulp at x = %.6f" % (worst, where))


if __name__ == "__main__":
    main()
