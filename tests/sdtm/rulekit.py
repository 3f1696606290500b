"""Run one SDTM rule on a few hand-written rows (the shape of sdtm.oak's three-row tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdtm.readers import RawForm
from sdtm.rules import load_all, rule
from sdtm.rules.base import FILE, FORM, LINE, SUBJECT, SUBJECT_ID, RawIdentity, Refs

IDENT = RawIdentity(subject=("SUBJID",), visit="FOLDER", position="RECORDPOSITION")


def rows(n: int, form: str = "xx", first_line: int = 2, **cols) -> pd.DataFrame:
    """n working rows of raw form `form` at lines first_line.. with the given columns."""
    f = pd.DataFrame({k: (v if isinstance(v, list) else [v] * n) for k, v in cols.items()}, index=range(n))
    f[FORM], f[FILE], f[LINE] = form, f"{form}.csv", np.arange(first_line, first_line + n)
    return f


def refs(spec, dataset: str, vars: pd.DataFrame | None = None, datasets: dict | None = None,
         raw: dict | None = None, variable: str | None = None) -> Refs:
    ds = spec.datasets[dataset]
    vars = pd.DataFrame() if vars is None else vars
    return Refs(spec=spec, dataset=ds, raw=raw or {}, datasets=datasets or {}, vars=vars,
                identities={}, default_identity=IDENT, spec_file=f"sdtm/{dataset}.yaml",
                variable=ds.variable(variable) if variable else None)


def derive(name: str, params: dict, frame: pd.DataFrame, r: Refs):
    """(values, notes) of rule `name` with `params` validated by its model."""
    load_all()
    rl = rule(name)
    return rl.fn(frame, rl.parse(params), r)


def raw_form(name: str, frame: pd.DataFrame) -> RawForm:
    """A raw form as the readers deliver it (text, line i + 1 for data row i)."""
    frame = frame.astype(str).reset_index(drop=True)
    return RawForm(name, frame, f"/raw/{name}.csv", np.arange(2, len(frame) + 2))


__all__ = ["IDENT", "SUBJECT", "SUBJECT_ID", "derive", "raw_form", "refs", "rows"]


def one_row(df: pd.DataFrame, **eq):
    """The one row of df whose columns equal the given values (fails the test unless exactly one)."""
    m = pd.Series(True, index=df.index)
    for k, v in eq.items():
        m &= df[k] == v
    assert m.sum() == 1, f"{eq}: {int(m.sum())} rows"
    return df[m].iloc[0]
