"""Three-row working frames and read-only references for rule tests (sdtm.oak's test shape)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from sdtm.rules.base import FILE, FORM, LINE, RawIdentity, Refs
from studyforge.spec.models import Dataset, Variable


def rows(file: str = "vs.csv", start_line: int = 2, **cols) -> pd.DataFrame:
    """Raw working rows: the given fields as text plus form, file and line bookkeeping."""
    n = len(next(iter(cols.values())))
    f = pd.DataFrame({k: pd.Series(v, dtype=str) for k, v in cols.items()})
    f[FORM], f[FILE], f[LINE] = file.split(".")[0], file, list(range(start_line, start_line + n))
    return f


# raw identity of the test forms: subject column PATNUM, USUBJID = DEMO-<PATNUM>
IDENTITY = RawIdentity(subject=("PATNUM",), visit="VISIT")


def refs(frame: pd.DataFrame, dataset: str = "VS", variable: str = "X", vars: dict | None = None,
         datasets: dict | None = None, raw: dict | None = None) -> Refs:
    """References with variables derived earlier (`vars`) and datasets built earlier (`datasets`)."""
    v = pd.DataFrame(vars or {}, index=frame.index)
    return Refs(spec=SimpleNamespace(study=SimpleNamespace(id="DEMO")), dataset=Dataset.model_construct(name=dataset),
                raw=raw or {}, datasets=datasets or {}, vars=v, variable=Variable.model_construct(name=variable),
                default_identity=IDENTITY, spec_file="spec.yaml")
