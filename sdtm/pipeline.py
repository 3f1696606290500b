"""raw forms + spec -> SDTM datasets, findings and the record reconciliation. Pure: no I/O."""

from __future__ import annotations

import pandas as pd

from studyforge.findings import Finding
from studyforge.spec.models import Dataset, Spec

from . import engine as E
from .context import FORM, LINE, Context, Reconciliation
from .derivations import sort_codes, subject_ranks
from .domains import recist, trial_design
from .readers import RawForm
from .registry import parse_params

BUILDERS = {
    "forms": E.build_forms, "rows": E.build_rows, "transpose": E.build_transpose,
    "recist_tu": recist.build_tu, "recist_tr": recist.build_tr, "recist_rs": recist.build_rs,
    "trial_summary": trial_design.build_ts, "subject_elements": trial_design.build_se,
}
FIRST = ["DM", "SE"]
LAST = ["TS"]


def build_order(spec: Spec) -> list[Dataset]:
    """DM first (reference dates), SE next (EPOCH), then the rest by name, TS last (SSTDTC from DM)."""
    sdtm = {d.name: d for d in spec.sdtm() if d.derivation and d.derivation.rule != "suppqual"}
    names = [n for n in FIRST if n in sdtm] + sorted(n for n in sdtm if n not in FIRST + LAST) \
        + [n for n in LAST if n in sdtm]
    return [sdtm[n] for n in names]


def supp_for(spec: Spec, parent: str) -> Dataset | None:
    d = spec.datasets.get(f"SUPP{parent}")
    return d if d and d.derivation and d.derivation.rule == "suppqual" else None


def _sort(ctx: Context, ds: Dataset, df: pd.DataFrame) -> pd.DataFrame:
    """Rows by USUBJID and --SEQ (else the dataset keys); df rows are aligned with ctx.result."""
    seqvar = next((v.name for v in ds.variables if v.name.endswith("SEQ") and v.derivation
                   and v.derivation.rule == "seq"), None)
    keys = ["USUBJID", seqvar] if seqvar and "USUBJID" in df.columns else [k for k in ds.keys if k in df.columns]
    if not keys or df.empty:
        return df.reset_index(drop=True)
    known = {"USUBJID": subject_ranks(ctx)} if keys[0] == "USUBJID" and "USUBJID" in ctx.result.columns \
        and len(ctx.result) == len(df) else None
    return df.iloc[sort_codes(df, keys, known)].reset_index(drop=True)


def build_dataset(ctx: Context, ds: Dataset) -> dict[str, pd.DataFrame]:
    ctx.ds = ds
    ctx.spec_file = f"sdtm/{ds.name}.yaml"
    params = parse_params(ds.derivation.rule, ds.derivation.params)
    frame = BUILDERS[ds.derivation.rule](ctx, params)
    ctx.frame = frame.reset_index(drop=True)
    ctx.result = pd.DataFrame(index=ctx.frame.index)
    E.run_variables(ctx, ds, (1,))
    E.drop_unknown_subjects(ctx)
    E.run_variables(ctx, ds, (2, 3, 4))
    out: dict[str, pd.DataFrame] = {}
    supp = supp_for(ctx.spec, ds.name)
    split = set()
    if supp is not None:
        sp = E.build_supp(ctx, supp)
        split = set(parse_params(supp.derivation.rule, supp.derivation.params).split_text)
    df = E.shape(ds, ctx.result)
    E.check_text(ctx, ds, df, ctx.frame, split)
    E.check_keys(ctx, ds, df, ctx.frame)
    for form, g in ctx.frame[ctx.frame[FORM] != ""].groupby(FORM, sort=True)[LINE]:
        ctx.recon.add_mapped(form, ds.name, len(g))
        ctx.recon.mark_seen(form, g.to_numpy())
    out[ds.name] = _sort(ctx, ds, df)
    if supp is not None:
        ctx.ds = supp
        sdf = E.shape(supp, sp)
        E.check_text(ctx, supp, sdf, None, set())
        out[supp.name] = sdf.sort_values(["USUBJID", "IDVARVAL", "QNAM"], kind="mergesort").reset_index(drop=True) \
            if not _has_seq(ds) else _supp_sort(sdf)
    return out


def _has_seq(ds: Dataset) -> bool:
    return any(v.name.endswith("SEQ") for v in ds.variables)


def _supp_sort(sdf: pd.DataFrame) -> pd.DataFrame:
    num = pd.to_numeric(sdf["IDVARVAL"], errors="coerce")
    return sdf.assign(__n=num).sort_values(["USUBJID", "__n", "QNAM"], kind="mergesort") \
        .drop(columns="__n").reset_index(drop=True)


def build_sdtm(raw: dict[str, RawForm], spec: Spec) -> tuple[dict[str, pd.DataFrame], list[Finding], Reconciliation]:
    """All SDTM datasets of the spec, in dependency order; every raw record is reconciled."""
    recon = Reconciliation()
    for name, rf in raw.items():
        recon.records_in[name] = len(rf)
        recon.files[name] = rf.path
    findings: list[Finding] = []
    ctx = Context(spec=spec, raw=raw, out={}, findings=findings, recon=recon)
    datasets: dict[str, pd.DataFrame] = {}
    for ds in build_order(spec):
        built = build_dataset(ctx, ds)
        datasets.update(built)
        ctx.out.update(built)
    for name, df in datasets.items():
        recon.records_out[name] = len(df)
    recon.finalize(raw)
    return datasets, _dedupe(findings), recon


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f in seen:
            continue
        seen.add(f)
        out.append(f)
    return out
