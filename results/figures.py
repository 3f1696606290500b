"""Figures of the results report as deterministic SVG (matplotlib, fixed hash salt, no date metadata)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from . import stats  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "studyforge", "svg.fonttype": "none", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "studyforge"}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def km_plot(curves: dict[str, pd.DataFrame], title: str, step_days: int = 84) -> str:
    """Kaplan-Meier curves (one per label: frame with AVAL days and CNSR) with censor marks and a
    numbers-at-risk table every `step_days` days (12 weeks by default)."""
    fig, (ax, tab) = plt.subplots(2, 1, figsize=(7, 4.6), gridspec_kw={"height_ratios": [4, 1]}, sharex=True)
    t_max = max((float(pd.to_numeric(c["AVAL"], errors="coerce").max()) for c in curves.values()), default=0.0)
    ticks = np.arange(0, (np.nan_to_num(t_max) // step_days + 1) * step_days + 1, step_days)
    for i, (label, c) in enumerate(curves.items()):
        t = pd.to_numeric(c["AVAL"], errors="coerce").to_numpy(dtype=float)
        ev = (pd.to_numeric(c["CNSR"], errors="coerce").to_numpy() == 0).astype(int)
        km = stats.kaplan_meier(t, ev)
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.surv))
        line, = ax.step(x, y, where="post", label=label)
        cens = km.n_censor > 0
        ax.plot(km.time[cens], km.surv[cens], "|", color=line.get_color(), markersize=8)
        risk = stats.number_at_risk(t, ticks)
        for x_t, n in zip(ticks, risk):
            tab.text(x_t, -i, str(int(n)), ha="center", va="center", color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Probability event-free")
    ax.set_title(title)
    ax.legend(loc="lower left", frameon=False)
    tab.set_yticks(-np.arange(len(curves)), list(curves))
    tab.set_ylim(-len(curves) + 0.5, 0.5)
    tab.set_xticks(ticks, [f"{int(t // 7)}" for t in ticks])
    tab.set_xlabel("Weeks since first dose (numbers at risk below)")
    tab.tick_params(left=False)
    for s in ("left", "bottom"):
        tab.spines[s].set_visible(False)
    return _svg(fig)


def swimmer_plot(durations: pd.DataFrame, responses: pd.DataFrame, title: str) -> str:
    """One bar per subject (treatment duration in weeks) with each time-point response as a marker."""
    d = durations.sort_values(["DUR", "USUBJID"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.16 * len(d) + 1)))
    ypos = {u: i for i, u in enumerate(d["USUBJID"])}
    ax.barh(d.index, d["DUR"] / 7.0, color="#cfd8e3", height=0.7)
    marks = {"CR": ("D", "#1a9850"), "PR": ("^", "#66bd63"), "SD": ("o", "#4575b4"), "NON-CR/NON-PD": ("s", "#74add1"),
             "PD": ("X", "#d73027"), "NE": ("x", "#999999")}
    for resp, (m, col) in marks.items():
        r = responses[responses["AVALC"] == resp]
        if len(r):
            ax.scatter(r["ADY"] / 7.0, r["USUBJID"].map(ypos), marker=m, color=col, s=18, label=resp, zorder=3)
    ax.set_yticks(d.index, d["USUBJID"], fontsize=6)
    ax.set_xlabel("Weeks since first dose")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False, fontsize=7)
    return _svg(fig)


def mean_change_plot(ard: pd.DataFrame, analysis_ids: list[str], title: str, ylabel: str) -> str:
    """Mean change from baseline (± SD) by visit, one line per analysis, from the ARD itself."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for aid in analysis_ids:
        a = ard[ard["ANALYSIS_ID"] == aid]
        if a.empty:
            continue
        piv = a.pivot_table(index="GROUP1_VALUE", columns="STAT", values="VALUE", aggfunc="first")
        piv = piv.loc[sorted(piv.index, key=lambda v: float(v) if v.replace(".", "", 1).isdigit() else 1e9)]
        x = pd.to_numeric(piv.index, errors="coerce")
        ax.errorbar(x, piv["mean"], yerr=piv["sd"], marker="o", capsize=3, label=a["ANALYSIS_NAME"].iloc[0])
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.set_xlabel("Analysis visit (AVISITN)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    return _svg(fig)


RESPONSE_COLOURS = {"CR": "#1a9850", "PR": "#66bd63", "SD": "#4575b4", "NON-CR/NON-PD": "#74add1",
                    "PD": "#d73027", "NE": "#999999", "MISSING": "#cccccc"}


BARS_MAX = 300  # above this many subjects the waterfall is drawn as filled steps (same picture, one path per colour)


def _stairs(ax, values: np.ndarray, edges: np.ndarray, colour: str, label: str) -> None:
    """ax.stairs(values, edges, fill=True, baseline=0, color=colour, label=label), the same patch and data
    limits, without matplotlib walking the outline segment by segment in Python to find its extent (seconds
    for 10,000 subjects): a step outline's extent is its edges and its values with the baseline."""
    patch = StepPatch(values, edges, baseline=0, fill=True, linewidth=0, facecolor=colour, label=label)
    ax.add_artist(patch)
    patch.sticky_edges.y.append(0)
    lo, hi = (min(float(np.min(values)), 0.0), max(float(np.max(values)), 0.0)) if len(values) else (0.0, 0.0)
    ax.update_datalim([(edges[0], lo), (edges[-1], hi)])
    ax.autoscale_view()


def waterfall_plot(best: pd.DataFrame, title: str, order: list[str] = ()) -> str:
    """Best percent change in the sum of diameters, one bar per subject (largest increase first), coloured by
    the subject's response (column RESP), with the RECIST 1.1 thresholds +20% (PD) and -30% (PR) as lines.

    `best`: USUBJID, VALUE, RESP. Ties sort by USUBJID, so the figure is the same for the same data."""
    b = best.sort_values(["VALUE", "USUBJID"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    seen = list(dict.fromkeys(b["RESP"]))
    levels = [r for r in order if r in seen] + sorted(r for r in seen if r not in order)
    extra = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    edges = np.arange(len(b) + 1) - 0.5
    for r in levels:
        sel = b[b["RESP"] == r]
        colour, label = RESPONSE_COLOURS.get(r) or next(extra), f"{r or 'no response'} (n={len(sel)})"
        if len(b) <= BARS_MAX:
            ax.bar(sel.index, sel["VALUE"], color=colour, width=0.8, label=label)
        else:  # thousands of bars: one filled outline per response, not one shape per subject
            _stairs(ax, np.where(b["RESP"] == r, b["VALUE"], 0.0), edges, colour, label)
    for y, text in ((20, "+20%"), (-30, "-30%")):
        ax.axhline(y, color="#555555", linestyle="--", linewidth=0.8)
        ax.text(len(b) - 0.4 if len(b) else 0, y, text, va="bottom", ha="right", fontsize=7, color="#555555")
    ax.axhline(0, color="#222222", linewidth=0.6)
    ax.set_xticks([])
    ax.set_xlim(-0.6, max(len(b), 1) - 0.4)
    ax.set_xlabel(f"Subjects (n={len(b)})")
    ax.set_ylabel("Best % change from baseline\nin the sum of diameters")
    ax.set_title(title)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, -35.0), max(hi, 25.0))        # both thresholds always in view
    ax.legend(loc="lower left", frameon=False, fontsize=7)
    return _svg(fig)
