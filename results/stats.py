"""The estimators the endpoint analyses use, as small pure functions on numpy arrays.

Each is the textbook estimator named in its docstring; the tests check them against published
examples and against independent implementations (scipy's binomtest, lifelines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def clopper_pearson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) two-sided CI of a binomial proportion, from beta quantiles."""
    if n <= 0:
        return (np.nan, np.nan)
    a = (1.0 - conf) / 2.0
    lo = 0.0 if x == 0 else float(stats.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1.0 - a, x + 1, n - x))
    return lo, hi


@dataclass(frozen=True)
class KMTable:
    """Kaplan-Meier product-limit estimate at each distinct time (events and censorings).

    `surv` is S(t) just after t; `var_log` is Greenwood's sum d/(n(n-d)), the variance of log S(t).
    `lcl`/`ucl` are the log(-log) transformed pointwise limits (Kalbfleisch & Prentice 2002, 4.3),
    the default of SAS PROC LIFETEST (CONFTYPE=LOGLOG) and of R survival's conf.type="log-log".
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    var_log: np.ndarray
    lcl: np.ndarray
    ucl: np.ndarray
    conf: float

    def at(self, t: float) -> tuple[float, float, float]:
        """(S(t), lower, upper): the step function's value at t (1 before the first time)."""
        i = np.searchsorted(self.time, t, side="right") - 1
        if i < 0:
            return 1.0, np.nan, np.nan
        if t > self.time[-1] and self.n_censor[-1] > 0 and self.surv[-1] > 0:
            return np.nan, np.nan, np.nan  # beyond the last observation: not estimable
        return float(self.surv[i]), float(self.lcl[i]), float(self.ucl[i])

    def quantile(self, p: float = 0.5) -> tuple[float, float, float]:
        """(time, lower, upper) where S first falls to or below 1-p (median for p=.5); the CI is
        Brookmeyer & Crowley (1982): the times whose pointwise log(-log) interval contains 1-p."""
        target = 1.0 - p
        return (_first_at_or_below(self.time, self.surv, target),
                _first_at_or_below(self.time, self.lcl, target),
                _first_at_or_below(self.time, self.ucl, target))


def _first_at_or_below(time: np.ndarray, curve: np.ndarray, target: float) -> float:
    """First time the step curve is at or below target (within 1e-12); NaN when it never is."""
    hit = np.flatnonzero(curve <= target + 1e-12)
    if not hit.size:
        return np.nan
    i = hit[0]
    # a flat stretch exactly at the target: the midpoint convention of PROC LIFETEST/R survival
    if abs(curve[i] - target) < 1e-12 and i + 1 < len(time):
        nxt = np.flatnonzero(curve[i + 1:] < target - 1e-12)
        if nxt.size:
            return float((time[i] + time[i + 1 + nxt[0]]) / 2.0)
    return float(time[i])


def kaplan_meier(time: np.ndarray, event: np.ndarray, conf: float = 0.95) -> KMTable:
    """Product-limit estimate (Kaplan & Meier 1958) with Greenwood variance; event 1 = event, 0 = censored.
    At a tie, events precede censorings (the usual convention)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    keep = ~np.isnan(time)
    time, event = time[keep], event[keep]
    uniq, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=len(uniq))
    c = np.bincount(inv, weights=1 - event, minlength=len(uniq))
    removed = d + c
    n_risk = len(time) - np.concatenate(([0.0], np.cumsum(removed)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_risk > 0, 1.0 - d / n_risk, 1.0)
        surv = np.cumprod(factor)
        term = np.where((n_risk > d) & (d > 0), d / (n_risk * (n_risk - d)), 0.0)
        var_log = np.cumsum(term)
        z = stats.norm.ppf(1 - (1 - conf) / 2)
        # log(-log S) has SE sqrt(var_log)/|log S|; S^exp(±z se) gives the limits
        log_s = np.log(surv)
        se = np.sqrt(var_log) / np.abs(log_s)
        lcl = surv ** np.exp(z * se)
        ucl = surv ** np.exp(-z * se)
    undefined = (surv <= 0) | (surv >= 1) | (var_log == 0)
    lcl = np.where(undefined, np.nan, lcl)
    ucl = np.where(undefined, np.nan, ucl)
    return KMTable(uniq, n_risk, d, c, surv, var_log, lcl, ucl, conf)


def number_at_risk(time: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Subjects still at risk at each time in `at` (observed time >= t)."""
    t = np.sort(np.asarray(time, dtype=float)[~np.isnan(np.asarray(time, dtype=float))])
    return len(t) - np.searchsorted(t, np.asarray(at, dtype=float), side="left")


def describe(values: np.ndarray) -> dict[str, float]:
    """n, mean, SD (n-1), median, Q1, Q3, min, max of the non-missing values. Quartiles use
    Hyndman & Fan type 2 (averaged inverted empirical CDF), which is SAS's default QNTLDEF=5."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return {"n": 0.0, "mean": np.nan, "sd": np.nan, "median": np.nan, "q1": np.nan, "q3": np.nan,
                "min": np.nan, "max": np.nan}
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75], method="averaged_inverted_cdf")
    return {"n": float(n), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if n > 1 else np.nan,
            "median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()), "max": float(v.max())}
