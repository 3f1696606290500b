"""Estimators against published examples (worked by hand below) and independent implementations."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from results.stats import clopper_pearson, describe, kaplan_meier, number_at_risk

# Gehan (1965) 6-MP arm, n=21, the classic Kaplan-Meier example (Kleinbaum & Klein, Survival Analysis, ch. 2;
# Klein & Moeschberger 1997, table 4.1). 0 = censored.
GEHAN_T = np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35], dtype=float)
GEHAN_E = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])


def test_clopper_pearson_textbook():
    # 5/10: the exact interval (0.1871, 0.8129) (Agresti & Coull 1998, table 1)
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.187086, abs=1e-6) and hi == pytest.approx(0.812914, abs=1e-6)
    # 0/10: lower 0, upper 1 - 0.025^(1/10) = 0.30850 (closed form when x = 0)
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** 0.1, abs=1e-12))
    # 10/10: mirror image
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** 0.1, abs=1e-12), 1.0)


@pytest.mark.parametrize("x,n", [(1, 43), (37, 43), (20, 40), (3, 7), (0, 1)])
def test_clopper_pearson_matches_scipy_binomtest(x, n):
    ref = sps.binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
    lo, hi = clopper_pearson(x, n)
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)


def test_clopper_pearson_empty_denominator_is_not_estimable():
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


def test_km_gehan_by_hand():
    km = kaplan_meier(GEHAN_T, GEHAN_E)
    # at risk and survival worked by hand: 18/21; x16/17; x14/15; x11/12; x10/11; x6/7; x5/6
    expected = {6: 18 / 21, 7: 18 / 21 * 16 / 17, 10: 18 / 21 * 16 / 17 * 14 / 15}
    expected[13] = expected[10] * 11 / 12
    expected[16] = expected[13] * 10 / 11
    expected[22] = expected[16] * 6 / 7
    expected[23] = expected[22] * 5 / 6
    for t, s in expected.items():
        assert km.at(t)[0] == pytest.approx(s, abs=1e-12)
    assert [round(expected[t], 3) for t in (6, 7, 10, 13, 16, 22, 23)] == [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448]
    # Greenwood SE at t=6: S*sqrt(3/(21*18)) = 0.0764 (Klein & Moeschberger table 4.1: 0.076)
    i = int(np.flatnonzero(km.time == 6)[0])
    assert km.surv[i] * math.sqrt(km.var_log[i]) == pytest.approx(0.0764, abs=5e-5)
    # log(-log) limits at t=6 by hand: se = sqrt(3/378)/|ln(18/21)| = 0.57793, c = exp(1.95996*se) = 3.1042,
    # S^c = 0.6197 and S^(1/c) = 0.9516 (R survival conf.type="log-log" prints 0.620, 0.952)
    assert km.lcl[i] == pytest.approx(0.6197, abs=1e-4) and km.ucl[i] == pytest.approx(0.9516, abs=1e-4)
    assert km.quantile(0.5)[0] == 23.0  # first time S <= 0.5
    assert list(km.n_risk[:3]) == [21, 17, 16]


def _naive_km(t, e, z=1.959963984540054):
    """A second, loop-based implementation from the definitions (Kaplan-Meier product, Greenwood sum,
    log(-log) limits), written without the vectorised code's tricks."""
    times = sorted(set(t))
    s, g, rows = 1.0, 0.0, []
    for u in times:
        n = sum(1 for x in t if x >= u)
        d = sum(1 for x, ev in zip(t, e) if x == u and ev == 1)
        if d:
            s *= 1 - d / n
            if n > d:
                g += d / (n * (n - d))
        if 0 < s < 1 and g > 0:
            se = math.sqrt(g) / abs(math.log(s))
            lo, hi = s ** math.exp(z * se), s ** math.exp(-z * se)
        else:
            lo = hi = float("nan")
        rows.append((u, s, lo, hi, g))
    return rows


def test_km_matches_a_naive_implementation_and_brookmeyer_crowley_by_its_definition():
    rng = np.random.default_rng(11)
    t = np.ceil(rng.exponential(300, 60))
    e = (rng.random(60) < 0.7).astype(int)
    km = kaplan_meier(t, e)
    ref = _naive_km(list(t), list(e))
    for (u, s, lo, hi, _), i in zip(ref, range(len(km.time))):
        assert km.time[i] == u and km.surv[i] == pytest.approx(s, abs=1e-12)
        assert km.lcl[i] == pytest.approx(lo, abs=1e-9, nan_ok=True)
        assert km.ucl[i] == pytest.approx(hi, abs=1e-9, nan_ok=True)
    # Brookmeyer & Crowley (1982) by definition: the times whose test of S(t) = 0.5 on the log(-log) scale does
    # not reject, |log(-log S) - log(-log .5)| <= z * se; the CI runs from the first such time to the first time
    # after which S stays below the band (the first time the upper limit is <= .5).
    z = 1.959963984540054
    accepted = [u for u, s, lo, hi, g in ref if 0 < s < 1 and g > 0 and
                abs(math.log(-math.log(s)) - math.log(-math.log(0.5))) <= z * math.sqrt(g) / abs(math.log(s))]
    med, mlo, mhi = km.quantile(0.5)
    assert mlo == accepted[0]
    assert mhi == next(u for u, s, lo, hi, g in ref if hi <= 0.5)
    assert med == next(u for u, s, *_ in ref if s <= 0.5)


def test_km_beyond_last_censored_time_is_not_estimable():
    km = kaplan_meier(np.array([10.0, 20.0, 30.0]), np.array([1, 0, 0]))
    assert km.at(5) == (1.0, pytest.approx(np.nan, nan_ok=True), pytest.approx(np.nan, nan_ok=True))
    assert km.at(25)[0] == pytest.approx(2 / 3)
    assert math.isnan(km.at(31)[0])
    assert math.isnan(km.quantile(0.5)[0])  # never reaches 0.5: median not reached


def test_number_at_risk():
    assert list(number_at_risk(GEHAN_T, np.array([0, 6, 7, 84]))) == [21, 21, 17, 0]


def test_describe_quartiles_are_sas_definition_5():
    # QNTLDEF=5: n*p integer -> mean of the order statistics j and j+1; else the (j+1)th.
    d = describe(np.array([4.0, 1.0, 3.0, 2.0, np.nan]))
    assert (d["n"], d["q1"], d["median"], d["q3"]) == (4, 1.5, 2.5, 3.5)
    d = describe(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (d["q1"], d["median"], d["q3"]) == (2.0, 3.0, 4.0)  # 5*.25=1.25 -> x(2); 5*.75=3.75 -> x(4)
    assert d["mean"] == 3.0 and d["sd"] == pytest.approx(math.sqrt(2.5))
    assert math.isnan(describe(np.array([7.0]))["sd"])
    assert describe(np.array([np.nan]))["n"] == 0
