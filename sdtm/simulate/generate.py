"""Form generation: the ordered registry of form builders and an iterator over finished form frames."""

from __future__ import annotations

from typing import Callable, Iterator

import pandas as pd

from . import crf_admin as adm
from . import crf_clinical as cli
from . import crf_tumour as tum
from . import messiness
from .config import SimConfig
from .forms import finish_sorted, form_columns, sorted_rows
from .model import World, build_world

_ORDER_KEYS = ("READER", "_k", "_ty", "_t", "_l", "_o")

# form name -> builder(world, ae_events) ; the order here is the order of manifest entries
BUILDERS: dict[str, Callable[[World, pd.DataFrame], pd.DataFrame]] = {
    "ic": lambda w, ev: adm.ic(w),
    "ie": lambda w, ev: adm.ie(w),
    "dm": lambda w, ev: adm.dm(w),
    "pd": lambda w, ev: adm.pd_form(w),
    "ecog": lambda w, ev: adm.ecog(w),
    "cmprior": lambda w, ev: adm.cmprior(w),
    "cmsubs": lambda w, ev: adm.cmsubs(w),
    "sv": lambda w, ev: adm.sv(w),
    "ex": lambda w, ev: adm.ex(w),
    "tl": lambda w, ev: tum.tl(w),
    "ntl": lambda w, ev: tum.ntl(w),
    "nl": lambda w, ev: tum.nl(w),
    "rsinv": lambda w, ev: tum.rsinv(w),
    "bicr_lesions": lambda w, ev: tum.bicr_lesions(w),
    "bicr_response": lambda w, ev: tum.bicr_response(w),
    "bicr_adjudication": lambda w, ev: tum.adjudication(w),
    "ae": cli.ae,
    "lb": cli.lb,
    "qlqc30": lambda w, ev: cli.qlqc30(w),
    "ginet21": lambda w, ev: cli.ginet21(w),
    "diary": lambda w, ev: cli.diary(w),
    "selfinj": lambda w, ev: adm.selfinj(w),
    "ds": lambda w, ev: adm.ds(w),
    "dd": lambda w, ev: adm.dd(w),
}


def generate_forms(cfg: SimConfig, forms: dict, subjects: int, seed: int) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield (form, frame of text columns) one form at a time, so only one big frame is in memory."""
    for name, frame, _ in generate_forms_with_ledger(cfg, forms, subjects, seed):
        yield name, frame


def generate_forms_with_ledger(cfg: SimConfig, forms: dict, subjects: int,
                               seed: int) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(form, frame, its injected-faults ledger) one form at a time (messiness.ledger)."""
    missing = sorted(set(forms["forms"]) ^ set(BUILDERS))
    if missing:
        raise ValueError(f"forms.yaml and the simulator disagree on forms: {missing}")
    world = build_world(cfg, subjects, seed)
    events = cli.ae_events(world)
    for name, build in BUILDERS.items():
        raw = build(world, events)
        raw = messiness.apply(name, raw, cfg, forms, seed)
        order = [k for k in _ORDER_KEYS if k in raw.columns]
        rows = sorted_rows(raw, world.subj, order)
        frame = finish_sorted(rows, world.subj, cfg.study.studyid, form_columns(forms, name))
        yield name, frame, messiness.ledger(name, rows, frame)
