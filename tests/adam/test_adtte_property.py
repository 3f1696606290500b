"""Property test: the vectorised PFS/TTP equals a plain per-subject loop of the same rules (allowed here).

Reference rules (FDA 2018 PFS censoring table as written in MT.ADTTE.PFS / MT.ADTTE.TTP):
therapy before the event -> last adequate on/before therapy (CNSR 3); event > 175 days after the last
adequate assessment before it -> censored there (4) or at start when there is none (1); else event (0);
TTP death without PD -> last adequate or start (5); no event -> last adequate (2) or start (1).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from adam.adtte import derive_adtte
from tests.adam.conftest import load_dataset, sas

S = sas("2021-01-04")
ADEQ = {"CR", "PR", "SD", "NON-CR/NON-PD", "PD"}
SPEC = load_dataset("ADTTE")


def reference(visits: list[tuple[int, str]], dth: int | None, therapy: int | None, kind: str) -> tuple[int, int]:
    """(ADT - S, CNSR) for one subject, by a loop over its assessments."""
    adq = sorted((d, r) for d, r in visits if d > 0 and r in ADEQ)
    pds = [d for d, r in adq if r == "PD"]
    pdd = min(pds) if pds else None
    if kind == "PFS":
        evs = [x for x in (pdd, dth) if x is not None]
        ev = min(evs) if evs else None
    else:
        ev = pdd
    if therapy is not None and therapy >= 0 and (ev is None or therapy < ev):
        la = [d for d, _ in adq if d <= therapy]
        return (max(la) if la else 0), 3
    if ev is not None:
        before = [d for d, _ in adq if d < ev]
        ref = max(before) if before else 0
        if ev - ref > 175:
            return ref, (4 if before else 1)
        return ev, 0
    if kind == "TTP" and dth is not None:
        return (max(d for d, _ in adq) if adq else 0), 5
    return (max(d for d, _ in adq), 2) if adq else (0, 1)


visit = st.tuples(st.integers(-10, 700), st.sampled_from(["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", ""]))
subject = st.tuples(st.lists(visit, max_size=8, unique_by=lambda v: v[0]),
                    st.one_of(st.none(), st.integers(1, 800)), st.one_of(st.none(), st.integers(-30, 800)))


@settings(max_examples=25, deadline=None)
@given(st.lists(subject, min_size=1, max_size=25))
def test_vectorised_equals_loop(subjects):
    adsl, adrs, cm = [], [], []
    for i, (visits, dth, therapy) in enumerate(subjects):
        u = f"S{i:03d}"
        adsl.append({"STUDYID": "PALACE", "USUBJID": u, "SUBJID": u, "SITEID": "101", "FASFL": "Y", "EFFFL": "Y",
                     "TRTSDT": S, "DTHDT": S + dth if dth is not None else float("nan"), "DTHDTF": "",
                     "LSTALVDT": S + 900})
        adrs += [{"USUBJID": u, "PARAMCD": "OVR", "ADT": S + d, "AVALC": r, "ANL01FL": "Y", "SRCSEQ": float(j + 1)}
                 for j, (d, r) in enumerate(visits)]
        if therapy is not None:
            cm.append({"USUBJID": u, "CMCAT": "SUBSEQUENT ANTI-CANCER THERAPY",
                       "CMSTDTC": (pd.Timestamp("2021-01-04") + pd.Timedelta(days=therapy)).strftime("%Y-%m-%d")})
    adrs_df = pd.DataFrame(adrs, columns=["USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL", "SRCSEQ"])
    cm_df = pd.DataFrame(cm, columns=["USUBJID", "CMCAT", "CMSTDTC"])
    tte, _ = derive_adtte({"CM": cm_df}, pd.DataFrame(adsl), adrs_df, SPEC)
    tte = tte.set_index(["USUBJID", "PARAMCD"])
    for i, (visits, dth, therapy) in enumerate(subjects):
        for kind in ("PFS", "TTP"):
            day, cnsr = reference(visits, dth, therapy, kind)
            row = tte.loc[(f"S{i:03d}", kind)]
            assert (row["ADT"] - S, row["CNSR"]) == (day, cnsr), (kind, visits, dth, therapy)
            assert row["AVAL"] == day + 1
