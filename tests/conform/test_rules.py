"""Each conformance rule: the clean package has no findings; one deliberate break makes exactly that rule
fire, at the record/variable where the break was made (expected locations derived by hand in the cases)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import pytest

from studyforge.conform.engine import run_checks
from studyforge.conform.package import PackageView, VarMeta
from studyforge.conform.rules import all_rules
from tests.conform.builder import S1, S2, _with_expected, adam_frames, make_spec, memory_view, sas, sdtm_frames
from tests.sdtm.test_design_checks import DESIGN_CHECKS

NO_DEFINE = {"SF-FDA-0004"}  # in-memory views have no define.xml; file-based tests cover it


def _key(f):
    return (f.rule, f.dataset, f.variable, f.usubjid, f.record, f.value, f.message)


def _build(mutate: Callable | None = None, *, with_spec: bool = True) -> PackageView:
    s, a = sdtm_frames(), adam_frames()
    spec = make_spec(s, a)
    if mutate is not None:
        out = mutate(s, a, spec)
        if isinstance(out, PackageView):
            return out
    return memory_view(s, a, spec if with_spec else None, labels_from=spec)


@pytest.fixture(scope="module")
def clean_findings():
    return run_checks(_build())


def test_clean_in_memory_package_has_no_findings(clean_findings):
    assert [f for f in clean_findings if f.rule not in NO_DEFINE] == []


def test_clean_without_spec_has_no_errors():
    found = run_checks(_build(with_spec=False))
    assert [str(f) for f in found.errors if f.rule not in NO_DEFINE] == []


def test_every_rule_has_id_source_and_scope():
    rules = all_rules()
    assert len(rules) >= 40
    for rid, r in rules.items():
        assert rid == r.id and r.id.startswith("SF-") and r.description and r.source
        assert r.applies_to in ("SDTM", "ADaM", "package")


def set_cell(frame: pd.DataFrame, row: int, col: str, value) -> None:
    frame.loc[row, col] = value


def view_with(fn):
    """Mutate the view (labels, metadata) rather than the frames."""
    def mutate(s, a, spec):
        view = memory_view(s, a, spec)
        fn(view, spec)
        return view
    return mutate


def _relabel(view, spec):
    ds = view.datasets["AE"]
    ds.variables = [VarMeta(v.name, v.type, v.length, "Verbatim Term" if v.name == "AETERM" else v.label, v.format)
                    for v in ds.variables]


def _spec_len(s, a, spec):
    spec.datasets["AE"].variable("AETERM").length = 20


ECOG1 = "Restricted in physically strenuous activity but ambulatory and able to carry out work of a light or " \
    "sedentary nature, e.g., light house work, office work"


def _rs(testcds: list[str], orres: list[str], stresc: list[str], cat: str, qs: bool = False) -> pd.DataFrame:
    """A one-subject RS (or, with qs, a QS of EORTC codes copied into QSORRES) for the content checks."""
    p = "QS" if qs else "RS"
    n = len(testcds)
    f = pd.DataFrame({"STUDYID": ["PALACE"] * n, "DOMAIN": p, "USUBJID": S1, f"{p}SEQ": np.arange(1.0, n + 1),
                      f"{p}TESTCD": testcds, f"{p}CAT": cat, f"{p}ORRES": orres, f"{p}STRESC": stresc,
                      f"{p}STRESN": pd.to_numeric(pd.Series(stresc), errors="coerce").to_numpy()})
    if qs:  # EORTC QLQ-C30 item 1 answered "A little": code 2 copied into QSORRES
        f = f.assign(QSTESTCD="EOR0101", QSCAT="EORTC QLQ-C30 V3.0", QSORRES="2", QSSTRESC="2", QSSTRESN=2.0)
    f[f"{p}TEST"] = f[f"{p}TESTCD"]
    return _with_expected(p, f)


def _drop_tr_lobxfl(s, a, spec):
    s["TR"].pop("TRLOBXFL")
    d = spec.datasets["TR"]
    d.variables = [v for v in d.variables if v.name != "TRLOBXFL"]


# (rule, mutation, expected location (dataset, variable, usubjid, record, value) — None = not checked,
#  other rules that the same break inherently triggers)
CASES = [
    ("SF-SD-0001", lambda s, a, spec: s.pop("EX"), ("EX", "", "", "", None), set()),
    ("SF-SD-0002", lambda s, a, spec: s.__setitem__("CM", pd.DataFrame({
        "STUDYID": ["PALACE"], "DOMAIN": "CM", "USUBJID": S1, "CMSEQ": 1.0, "CMTRT": "OCTREOTIDE"})),
     ("CM", "", "", "", None), {"SF-SD-0011"}),
    ("SF-SD-0003", lambda s, a, spec: s["AE"].pop("EPOCH"), ("AE", "EPOCH", "", "", None), set()),
    ("SF-SD-0004", lambda s, a, spec: s.__setitem__("AE", s["AE"][["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AEDECOD",
                                                               "AETERM", *s["AE"].columns[6:]]]),
     ("AE", "AEDECOD", "", "", "AEDECOD"), set()),
    ("SF-SD-0005", lambda s, a, spec: s["DM"].__setitem__("AGE", ["54", "61"]), ("DM", "AGE", "", "", "Char"), set()),
    ("SF-SD-0006", _spec_len, ("AE", "AETERM", "", "", "9"), set()),   # longest AETERM is DIARRHOEA: 9 bytes
    ("SF-SD-0007", view_with(_relabel), ("AE", "AETERM", "", "", "Verbatim Term"), set()),
    ("SF-SD-0008", view_with(lambda v, spec: setattr(v.datasets["TU"], "label", "Tumor Identification")),
     ("TU", "", "", "", "Tumor Identification"), set()),
    ("SF-SD-0010", lambda s, a, spec: set_cell(s["AE"], 0, "AETERM", ""), ("AE", "AETERM", S1, "row 1, AESEQ=1", ""),
     set()),
    ("SF-SD-0011", lambda s, a, spec: s["DM"].pop("RFXENDTC"), ("DM", "RFXENDTC", "", "", None), {"SF-SD-0003",
                                                                                                    "SF-SD-0101"}),
    ("SF-CT-0001", lambda s, a, spec: set_cell(s["DM"], 1, "SEX", "X"), ("DM", "SEX", S2, "row 2", "X"), set()),
    ("SF-CT-0002", lambda s, a, spec: set_cell(s["AE"], 2, "EPOCH", "RUN-IN"), ("AE", "EPOCH", "", "row 3", "RUN-IN"),
     set()),
    ("SF-DT-0001", lambda s, a, spec: set_cell(s["TU"], 1, "TUDTC", "2021-05-32"),
     ("TU", "TUDTC", S1, "row 2, TUSEQ=2", "2021-05-32"), set()),
    # S2's AE ends 2021-06-01, before its start 2021-06-05; AEENDY = 06-01 - 06-10 = -9 kept consistent
    ("SF-DT-0002", lambda s, a, spec: (set_cell(s["AE"], 2, "AEENDTC", "2021-06-01"), set_cell(s["AE"], 2, "AEENDY", -9.0)),
     ("AE", "AESTDTC", S2, "row 3, AESEQ=1", "2021-06-05"), set()),
    ("SF-DT-0003", lambda s, a, spec: set_cell(s["EX"], 1, "EXSTDY", 28.0), ("EX", "EXSTDY", S1, "row 2, EXSEQ=2", "28"),
     set()),
    ("SF-ID-0001", lambda s, a, spec: set_cell(s["TU"], 1, "TUSEQ", 1.0), ("TU", "TUSEQ", S1, "row 2, TUSEQ=1", "1"),
     {"SF-ID-0002"}),
    ("SF-ID-0002", lambda s, a, spec: set_cell(a["ADTTE"], 1, "USUBJID", S1), ("ADTTE", "PARAMCD", S1, "row 2", "PFS"),
     set()),
    ("SF-ID-0003", lambda s, a, spec: (set_cell(s["AE"], 2, "USUBJID", "PALACE-101-999"),
                                       set_cell(s["AE"], 2, "AESTDY", np.nan), set_cell(s["AE"], 2, "AEENDY", np.nan)),
     ("AE", "USUBJID", "PALACE-101-999", "row 3, AESEQ=1", "PALACE-101-999"), set()),
    ("SF-VL-0001", lambda s, a, spec: set_cell(s["TR"], 1, "TRTEST", "Longest Diam"), ("TR", "TRTESTCD", "", None, "LDIAM"),
     set()),
    ("SF-VL-0002", lambda s, a, spec: set_cell(s["TR"], 2, "TRSTRESU", "cm"), ("TR", "TRSTRESU", "", None, "LDIAM"),
     set()),
    ("SF-VL-0003", lambda s, a, spec: set_cell(s["AE"], 0, "AETERM", "HEADACHE \u00e9"),
     ("AE", "AETERM", S1, "row 1, AESEQ=1", "HEADACHE \u00e9"), set()),
    ("SF-VL-0004", lambda s, a, spec: set_cell(s["AE"], 1, "AETERM", "X" * 201), ("AE", "AETERM", S1, "row 2, AESEQ=2", None),
     set()),
    # S1 leaves the study 2021-06-20, the day before the second injection (2021-06-21)
    ("SF-XD-0001", lambda s, a, spec: set_cell(s["DM"], 0, "RFPENDTC", "2021-06-20"),
     ("EX", "EXSTDTC", S1, "row 2, EXSEQ=2", "2021-06-21"), set()),
    ("SF-XD-0002", lambda s, a, spec: set_cell(s["TR"], 2, "TRLNKID", "T02"), ("TR", "TRLNKID", S2, "row 3, TRSEQ=1", "T02"),
     set()),
    ("SF-XD-0003", lambda s, a, spec: set_cell(s["SUPPAE"], 0, "IDVARVAL", "7"), ("SUPPAE", "IDVARVAL", S1, "row 1", "7"),
     set()),
    ("SF-XD-0004", lambda s, a, spec: set_cell(s["DM"], 0, "RFXENDTC", "2021-06-20"), ("DM", "RFXENDTC", S1, "row 1",
                                                                                      "2021-06-20"), set()),
    ("SF-AD-0001", lambda s, a, spec: set_cell(a["ADSL"], 1, "USUBJID", S1), ("ADSL", "USUBJID", S1, "row 2", S1),
     {"SF-ID-0002"}),
    ("SF-AD-0002", lambda s, a, spec: set_cell(a["ADTTE"], 1, "PARAM", "PFS (days)"), ("ADTTE", "PARAMCD", "", None, "PFS"),
     set()),
    ("SF-AD-0003", lambda s, a, spec: set_cell(a["ADTTE"], 1, "CNSR", 1.5), ("ADTTE", "CNSR", S2, "row 2", "1.5"), set()),
    ("SF-AD-0004", lambda s, a, spec: set_cell(a["ADTTE"], 0, "EVNTDESC", ""), ("ADTTE", "EVNTDESC", S1, "row 1", ""),
     set()),
    # S2 consented 2021-06-01: an ADT of 2021-05-01 is before the study for that subject
    ("SF-AD-0005", lambda s, a, spec: set_cell(a["ADTTE"], 1, "ADT", sas("2021-05-01")),
     ("ADTTE", "ADT", S2, "row 2", "2021-05-01"), set()),
    ("SF-AD-0006", lambda s, a, spec: set_cell(a["ADTTE"], 1, "USUBJID", "PALACE-999"),
     ("ADTTE", "USUBJID", "PALACE-999", "row 2", "PALACE-999"), set()),
    ("SF-FDA-0001", lambda s, a, spec: s.pop("DM"), ("DM", "", "", "", None), {"SF-SD-0001", "SF-XD-0003"}),
    ("SF-FDA-0002", lambda s, a, spec: s.pop("TS"), ("TS", "", "", "", None), {"SF-SD-0001"}),
    ("SF-FDA-0003", lambda s, a, spec: set_cell(s["TS"], 0, "TSVAL", "2021-05"), ("TS", "TSVAL", "", "row 1", "2021-05"),
     set()),
    ("SF-FDA-0006", lambda s, a, spec: a.pop("ADSL"), ("ADSL", "", "", "", None), {"SF-SD-0001"}),
    # content checks (studyforge/conform/checks_content.py); more cases in tests/sdtm/test_content_checks.py
    # SDTMIG 4.5.1: TRSTRESC "25" read as a number is 25, not 25.04
    ("SF-VL-0101", lambda s, a, spec: set_cell(s["TR"], 0, "TRSTRESN", 25.04),
     ("TR", "TRSTRESN", S1, "row 1, TRSEQ=1", "25.04"), set()),
    # SDTMIG 4.1.5: TRLOBXFL is Exp in TR; dropping it (and from the spec) leaves the IG's Expected variable out
    ("SF-SD-0101", _drop_tr_lobxfl, ("TR", "TRLOBXFL", "", "", None), set()),
    # SDTM CT ECOG101OR holds the response text: the code "1" in RSORRES is not a term of it
    ("SF-CT-0101", lambda s, a, spec: s.__setitem__("RS", _rs(["ECOG101"], ["1"], ["1"], "ECOG")),
     ("RS", "RSORRES", S1, "row 1, RSSEQ=1", "1"), {"SF-SD-0002", "SF-VL-0102", "SF-CT-0002"}),
    ("SF-VL-0102", lambda s, a, spec: s.__setitem__("QS", _rs(["ECOG101"], [ECOG1], ["1"], "ECOG", qs=True)),
     ("QS", "QSORRES", "", "row 1, QSSEQ=1", "EORTC QLQ-C30 V3.0"), {"SF-SD-0002", "SF-CT-0002"}),
    # CT ONCRTSCD: "are there new lesions (Y/N)" is NEWLIND; NEWLPROG is the equivocality of progression
    ("SF-CT-0102", lambda s, a, spec: s.__setitem__("RS", _rs(["NEWLPROG"], ["N"], ["N"], "RECIST 1.1")),
     ("RS", "RSTESTCD", S1, "row 1, RSSEQ=1", "NEWLPROG"), {"SF-SD-0002", "SF-CT-0002"}),
    # SDTMIG 4.4.4: MHDY is the study day of MHDTC; an MH with only MHSTDTC carries MHSTDY
    ("SF-DT-0101", lambda s, a, spec: s.__setitem__("MH", pd.DataFrame({
        "STUDYID": ["PALACE"], "DOMAIN": "MH", "USUBJID": S1, "MHSEQ": 1.0, "MHTERM": "GEP-NET",
        "MHSTDTC": "2021-05-20", "MHDY": -4.0})), ("MH", "MHDY", "", "", None), {"SF-SD-0002"}),
]


@pytest.mark.parametrize("rule,mutate,where,also", CASES, ids=[c[0] for c in CASES])
def test_rule_fires_at_the_break(clean_findings, rule, mutate, where, also):
    found = run_checks(_build(mutate))
    before = {_key(f) for f in clean_findings}
    new = [f for f in found if _key(f) not in before]
    assert {f.rule for f in new} - also == {rule}, [str(f) for f in new]
    hits = [f for f in new if f.rule == rule]
    dataset, variable, usubjid, record, value = where
    assert any(f.dataset == dataset and f.variable == variable and f.usubjid == usubjid
               and (record is None or f.record == record) and (value is None or f.value == value)
               for f in hits), [str(f) for f in hits]
    assert all(f.severity is all_rules()[rule].severity for f in hits)


def test_every_check_rule_has_a_break_case():
    from tests.conform.test_checks_adam_structure import TESTED as ADAM_STRUCTURE  # SF-AD-03xx: own cases

    tested = {c[0] for c in CASES} | {"SF-FDA-0004", "SF-FDA-0005", "SF-DX-0001", "SF-DX-0002", "SF-DX-0003"}
    tested |= ADAM_STRUCTURE
    tested |= DESIGN_CHECKS  # their break cases: tests/sdtm/test_design_*.py
    with_check = {rid for rid, r in all_rules().items() if r.check is not None}
    assert with_check <= tested


def test_partial_dates_compare_at_common_precision():
    # SDTMIG 4.4.7: "2021-06" starts after "2021-05-20" ends whatever the day; "2021-05" vs "2021-05-20" undecided
    from studyforge.conform.checks_values import _common_precision_after

    st = pd.Series(["2021-06", "2021-05", "2021-05-20T10:00", "2021-05-20T10:00", "", "2022"])
    en = pd.Series(["2021-05-20", "2021-05-20", "2021-05-20T09:59", "2021-05-20", "2021", "2021-12-31"])
    assert _common_precision_after(st, en).tolist() == [True, False, True, False, False, True]


def test_ct_without_spec_uses_cdisc_ct():
    # SEX (C66731) is non-extensible in SDTM CT 2025-03-28: "X" is an error even without a study spec
    def mutate(s, a, spec):
        set_cell(s["DM"], 1, "SEX", "X")
    found = run_checks(_build(mutate, with_spec=False))
    hits = [f for f in found if f.rule == "SF-CT-0001"]
    assert [(f.dataset, f.variable, f.usubjid, f.value) for f in hits] == [("DM", "SEX", S2, "X")]


def test_many_bad_rows_are_summarized_not_dropped():
    from studyforge.conform import emit

    def mutate(s, a, spec):
        big = pd.concat([s["TU"]] * 700, ignore_index=True)
        big["TUSEQ"] = np.arange(1, len(big) + 1, dtype=float)
        big["TUDTC"] = "bad"
        s["TU"] = big
    found = [f for f in run_checks(_build(mutate)) if f.rule == "SF-DT-0001"]
    assert len(found) == emit.MAX_ROWS_PER_VARIABLE + 1
    assert found[-1].message.startswith(f"{2100 - emit.MAX_ROWS_PER_VARIABLE} more row(s)")


def test_adam_req_variable_may_be_null_but_not_absent():
    """ADaMIG 1.3 section 3.1: Req means the variable is included; a screen failure's ARM is null.
    SDTMIG 3.4 4.1.5 Req means never null, so the same break in SDTM fires (see the AETERM case)."""
    adam = adam_frames()
    adam["ADSL"].loc[1, "ARM"] = ""
    spec = make_spec(sdtm_frames(), adam_frames())
    found = run_checks(PackageView.from_frames(sdtm_frames(), adam, spec=spec))
    assert not [f for f in found if f.rule == "SF-SD-0010"]
    adam["ADSL"] = adam["ADSL"].drop(columns="ARM")
    found = run_checks(PackageView.from_frames(sdtm_frames(), adam, spec=spec))
    hits = [(f.dataset, f.variable) for f in found if f.rule == "SF-SD-0010"]
    assert hits == [("ADSL", "ARM")]


def test_testcd_all_not_done_is_not_a_ct_error():
    """SDTMIG 3.4 4.5.1.2: --TESTCD "--ALL" with --STAT "NOT DONE" records a whole group not done;
    the same value without NOT DONE is still outside the non-extensible test code codelist."""
    from studyforge.conform.checks_structure import _all_not_done
    from studyforge.conform.package import DatasetView

    qs = pd.DataFrame({"QSTESTCD": ["EOR0101", "QSALL", "QSALL"], "QSSTAT": ["", "NOT DONE", ""]})
    ds = DatasetView("QS", "SDTM", qs)
    assert _all_not_done(ds, "QSTESTCD", qs["QSTESTCD"]).tolist() == [False, True, False]
    assert _all_not_done(ds, "QSORRES", qs["QSTESTCD"]).tolist() == [False, False, False]
