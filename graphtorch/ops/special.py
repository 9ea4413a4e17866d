"""Special functions NumPy lacks (erf, erfc, erfinv), written against `xp`.

erf uses its everywhere-positive power series for |x| <= 3 and erfc's continued fraction
beyond; both are evaluated in float64 to about 1e-15 and cast back to the input dtype.
"""

from __future__ import annotations

import math

from ..layout import in_memory_order

_SERIES_TERMS = 90
_FRACTION_DEPTH = 90
_SPLIT = 3.0


def _as_float(xp, a):
    dtype = a.dtype if a.dtype.kind in "fc" else xp.dtype("float32")
    return a.astype(xp.float64), dtype


def _erf_series(xp, x):
    # erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n x (2x^2)^n / (1*3*...*(2n+1))
    two_x2 = 2.0 * x * x
    term = x.copy()
    total = x.copy()
    for n in range(1, _SERIES_TERMS):
        term = term * two_x2 / (2 * n + 1)
        total += term
    return 2.0 / math.sqrt(math.pi) * xp.exp(-x * x) * total


def _erfc_fraction(xp, x):
    # erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), x > 0
    f = x.copy()
    for k in range(_FRACTION_DEPTH, 0, -1):
        f = x + (k / 2.0) / f
    return xp.exp(-x * x) / (math.sqrt(math.pi) * f)


def erfc_positive(xp, x):
    small = x <= _SPLIT
    xs = xp.where(small, x, 0.0)
    xl = xp.where(small, _SPLIT + 1.0, x)
    return xp.where(small, 1.0 - _erf_series(xp, xs), _erfc_fraction(xp, xl))


@in_memory_order
def erf_kernel(xp, a):
    x, dtype = _as_float(xp, a)
    ax = xp.abs(x)
    small = ax <= _SPLIT
    inner = _erf_series(xp, xp.where(small, ax, 0.0))
    outer = 1.0 - _erfc_fraction(xp, xp.where(small, _SPLIT + 1.0, ax))
    out = xp.sign(x) * xp.where(small, inner, outer)
    out = xp.where(xp.isnan(x), xp.nan, out)
    return out.astype(dtype)


@in_memory_order
def erfc_kernel(xp, a):
    x, dtype = _as_float(xp, a)
    pos = erfc_positive(xp, xp.abs(xp.nan_to_num(x)))
    out = xp.where(x >= 0, pos, 2.0 - pos)
    out = xp.where(xp.isnan(x), xp.nan, out)
    return out.astype(dtype)


@in_memory_order
def erfinv_kernel(xp, a):
    y, dtype = _as_float(xp, a)
    inside = xp.abs(y) < 1
    yc = xp.where(inside, y, 0.0)
    # Winitzki's closed-form start, then Newton steps on erf(x) - y.
    k = 0.147
    ln = xp.log1p(-yc * yc)
    first = 2.0 / (math.pi * k) + ln / 2.0
    x = xp.sign(yc) * xp.sqrt(xp.sqrt(first * first - ln / k) - first)
    for _ in range(4):
        err = erf_kernel(xp, x) - yc
        x = x - err / (2.0 / math.sqrt(math.pi) * xp.exp(-x * x))
    out = xp.where(inside, x, xp.where(xp.abs(y) == 1, xp.sign(y) * xp.inf, xp.nan))
    return out.astype(dtype)


# --- erfcx: exp(x^2) erfc(x) without overflow ------------------------------------------------

def erfcx64(xp, x):
    """float64 erfcx: exp(x^2) - the erf series for 0 <= x <= 3, the continued fraction
    (without its exp(-x^2) factor) beyond, reflection erfcx(x) = 2 exp(x^2) - erfcx(-x)."""
    ax = xp.abs(xp.nan_to_num(x))
    small = ax <= _SPLIT
    xs = xp.where(small, ax, 0.0)
    two_x2 = 2.0 * xs * xs
    term = xs.copy()
    total = xs.copy()
    for n in range(1, _SERIES_TERMS):
        term = term * two_x2 / (2 * n + 1)
        total += term
    near = xp.exp(xs * xs) - 2.0 / math.sqrt(math.pi) * total
    xl = xp.where(small, _SPLIT + 1.0, ax)
    f = xl.copy()
    for k in range(_FRACTION_DEPTH, 0, -1):
        f = xl + (k / 2.0) / f
    pos = xp.where(small, near, 1.0 / (math.sqrt(math.pi) * f))
    with xp.errstate(over="ignore"):
        out = xp.where(x >= 0, pos, 2.0 * xp.exp(ax * ax) - pos)
    return xp.where(xp.isnan(x), x, out)


def erfcx_kernel(xp, a):
    return erfcx64(xp, a.astype(xp.float64)).astype(a.dtype)


# --- modified Bessel functions of the first kind (Cephes' Chebyshev series) ------------------

# exp(-x) I0(x) on [0, 8], then exp(-x) sqrt(x) I0(x) on (8, inf) in 32 / x - 2
I0_LOW = (-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
          1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
          -4.85644678311192946090E-13, 2.95505266312963983461E-12,
          -1.72682629144155570723E-11, 9.67580903537323691224E-11,
          -5.18979560163526290666E-10, 2.65982372468238665035E-9, -1.30002500998624804212E-8,
          6.04699502254191894932E-8, -2.67079385394061173391E-7, 1.11738753912010371815E-6,
          -4.41673835845875056359E-6, 1.64484480707288970893E-5, -5.75419501008210370398E-5,
          1.88502885095841655729E-4, -5.76375574538582365885E-4, 1.63947561694133579842E-3,
          -4.32430999505057594430E-3, 1.05464603945949983183E-2, -2.37374148058994688156E-2,
          4.93052842396707084878E-2, -9.49010970480476444210E-2, 1.71620901522208775349E-1,
          -3.04682672343198398683E-1, 6.76795274409476084995E-1)
I0_HIGH = (-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
           3.46122286769746109310E-17, -2.82762398051658348494E-16,
           -3.42548561967721913462E-16, 1.77256013305652638360E-15, 3.81168066935262242075E-15,
           -9.55484669882830764870E-15, -4.15056934728722208663E-14,
           1.54008621752140982691E-14, 3.85277838274214270114E-13, 7.18012445138366623367E-13,
           -1.79417853150680611778E-12, -1.32158118404477131188E-11,
           -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
           3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
           2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
           8.04490411014108831608E-1)
# exp(-x) I1(x) / x on [0, 8], then exp(-x) sqrt(x) I1(x) on (8, inf)
I1_LOW = (2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
          -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
          3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
          -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
          9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
          -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
          4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
          -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
          2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
          -1.76416518357834055153E-1, 2.52587186443633654823E-1)
I1_HIGH = (7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
           -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
           -1.88035477551078244854E-15, -3.81440307243700780478E-15,
           1.04202769841288027642E-14, 4.27244001671195135429E-14, -2.10154184277266431302E-14,
           -4.08355111109219731823E-13, -7.19855177624590851209E-13,
           2.03562854414708950722E-12, 1.41258074366137813316E-11, 3.25260358301548823856E-11,
           -1.89749581235054123450E-11, -5.58974346219658380687E-10,
           -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
           -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
           7.78576235018280120474E-1)


def _chebyshev(y, coefficients):
    b0, b1, b2 = coefficients[0] + 0 * y, 0 * y, 0 * y
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + c
    return 0.5 * (b0 - b2)


def bessel_i64(xp, x, order: int, scaled: bool):
    """I0/I1 (order 0/1), times exp(-|x|) when `scaled`, in float64 (Cephes' i0/i0e/i1/i1e)."""
    ax = xp.abs(x)
    low = ax <= 8.0
    low_coef, high_coef = (I0_LOW, I0_HIGH) if order == 0 else (I1_LOW, I1_HIGH)
    inner = _chebyshev(xp.where(low, ax, 8.0) / 2.0 - 2.0, low_coef)
    if order == 1:
        inner = inner * ax
    far = xp.where(low, 8.0, ax)
    outer = _chebyshev(32.0 / far - 2.0, high_coef) / xp.sqrt(far)
    out = xp.where(low, inner, outer)
    if not scaled:
        with xp.errstate(over="ignore", invalid="ignore"):
            out = xp.exp(ax) * out
    return xp.where(x < 0, -out, out) if order == 1 else out


def bessel_i_kernel(order: int, scaled: bool):
    def kernel(xp, a):
        return bessel_i64(xp, a.astype(xp.float64), order, scaled).astype(a.dtype)
    return kernel


# --- ndtri: the inverse of the standard normal CDF (Cephes' rational approximations) ----------

NDTRI_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
            1.39312609387279679503E1, -1.23916583867381258016E0)
NDTRI_Q0 = (1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
            -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
            1.59056225126211695515E1, -1.18331621121330003142E0)
NDTRI_P1 = (4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
            4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
            -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4)
NDTRI_Q1 = (1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
            1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
            -3.80806407691578277194E-2, -9.33259480895457427372E-4)
NDTRI_P2 = (3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
            1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
            3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9)
NDTRI_Q2 = (1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
            2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
            2.89247864745380683936E-6, 6.79019408009981274425E-9)
EXP_MINUS_2 = 0.13533528323661269189
SQRT_2PI = 2.50662827463100050242E0


def polevl(x, coefficients):
    """coefficients[0] x^N + ... + coefficients[N], by Horner's rule (Cephes' polevl)."""
    out = 0.0 * x
    for c in coefficients:
        out = out * x + c
    return out


def ndtri64(xp, y0):
    flip = y0 > 1.0 - EXP_MINUS_2
    y = xp.where(flip, 1.0 - y0, y0)
    central = y > EXP_MINUS_2
    yc = xp.where(central, y, 0.5) - 0.5
    y2 = yc * yc
    x_central = (yc + yc * (y2 * polevl(y2, NDTRI_P0) / polevl(y2, NDTRI_Q0))) * SQRT_2PI
    with xp.errstate(divide="ignore", invalid="ignore"):
        x = xp.sqrt(-2.0 * xp.log(xp.where(central, 0.1, y)))
        x0 = x - xp.log(x) / x
        z = 1.0 / x
        x1 = xp.where(x < 8.0, z * polevl(z, NDTRI_P1) / polevl(z, NDTRI_Q1),
                      z * polevl(z, NDTRI_P2) / polevl(z, NDTRI_Q2))
    x_tail = xp.where(flip, x0 - x1, x1 - x0)
    out = xp.where(central, x_central, x_tail)
    out = xp.where((y0 < 0) | (y0 > 1) | xp.isnan(y0), xp.nan, out)
    return xp.where(y0 == 0, -xp.inf, xp.where(y0 == 1, xp.inf, out))


def ndtri_kernel(xp, a):
    return ndtri64(xp, a.astype(xp.float64)).astype(a.dtype)


# --- zeta: the Hurwitz zeta function (Cephes' algorithm, element by element) -----------------

ZETA_MACHEP = 1.11022302462515654042E-16
# Below -2**20 the direct sum would take over a million steps: NaN (as polygamma's kernel).
ZETA_LOWEST = 2.0 ** 20
ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
          7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
          -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)


def zeta64(xp, x, q):
    """sum over k >= 0 of (k + q)^-x: direct terms until they stop mattering or a > 9, then
    the Euler-Maclaurin tail; each element stops where Cephes' loop returns. NaN for
    q < -2**20 (not an integer), where PyTorch loops over a million terms."""
    x, q = xp.broadcast_arrays(x, q)
    with xp.errstate(all="ignore"):
        s = q ** -x
        a, b = q.copy(), xp.zeros_like(s)
        # where Cephes returns at once (the loop below would not end for q = -inf)
        integer_q = (q <= 0) & (q == xp.floor(q))
        domain = ((q <= 0) & (x != xp.floor(x))) | (q < -ZETA_LOWEST)
        done = (x <= 1.0) | integer_q | domain
        # far below zero the direct sum takes up to 2**20 steps: those elements run it
        # along k instead (the same additions in the same order), the rest below
        far = ~done & (q < -16.0)
        if far.any():
            a, b, s, done = _zeta_far(xp, x, q, a, b, s, done, far)
        i = 0
        while True:
            step = ~done & ~far & ((i < 9) | (a <= 9.0))
            if not step.any():
                break
            i += 1
            a = xp.where(step, a + 1.0, a)
            b = xp.where(step, a ** -x, b)
            s = xp.where(step, s + b, s)
            done |= step & (-ZETA_MACHEP * s < b) & (b < ZETA_MACHEP * s)
        w = a
        s = xp.where(done, s, s + b * w / (x - 1.0))
        s = xp.where(done, s, s - 0.5 * b)
        a, k = xp.ones_like(s), xp.zeros_like(s)
        for coefficient in ZETA_A:
            a = a * (x + k)
            b = b / w
            t = a * b / coefficient
            s = xp.where(done, s, s + t)
            done |= xp.abs(t / s) < ZETA_MACHEP
            k = k + 1.0
            a = a * (x + k)
            b = b / w
            k = k + 1.0
    out = xp.where(integer_q, xp.inf, xp.where(domain, xp.nan, s))
    return xp.where(x == 1.0, xp.inf, xp.where(x < 1.0, xp.nan, out))


def _zeta_far(xp, x, q, a, b, s, done, far):
    """Cephes' direct sum for the elements `far` below zero, each as vectors along k:
    a = q + 1 + 1 + ... and s = s + b + b + ... as sequential sums (cumsum), stopping at
    the first term below MACHEP of the sum, else after the loop's last step."""
    a, b, s, done = a.copy(), b.copy(), s.copy(), done.copy()
    for index in zip(*xp.nonzero(far)):
        qe, xe, se = float(q[index]), float(x[index]), float(s[index])
        n = max(9, int(9.0 - qe) + 1)
        while qe + n - 1 > 9.0 and n > 9:  # the loop stops once i >= 9 and a > 9
            n -= 1
        ak = xp.cumsum(xp.concatenate([xp.asarray([qe]), xp.ones(n)]))[1:]
        bk = ak ** -xe
        sk = xp.cumsum(xp.concatenate([xp.asarray([se]), bk]))[1:]
        stop = (-ZETA_MACHEP * sk < bk) & (bk < ZETA_MACHEP * sk)
        k = int(xp.argmax(stop)) if bool(stop.any()) else n - 1
        a[index], b[index], s[index] = ak[k], bk[k], sk[k]
        done[index] = bool(stop.any())
    return a, b, s, done


def zeta_kernel(xp, x, q):
    dtype = next((v.dtype for v in (x, q) if hasattr(v, "dtype")), xp.dtype(xp.float64))
    out = zeta64(xp, xp.asarray(x, dtype=xp.float64), xp.asarray(q, dtype=xp.float64))
    return out.astype(dtype)
