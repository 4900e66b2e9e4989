"""Write docs/baseline.md and its figures from tools/eval_baseline.py's results.

Usage: .venv/bin/python tools/report_baseline.py [RESULTS.json ...]  (default
build/baseline_results.json; several files are merged block by block)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
COLORS = {"healthy": "0.55", "outer_race": "tab:red", "inner_race": "tab:blue",
          "ball": "tab:green"}


def _figure(rows: list[dict], name: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=110)
    for r in rows:
        tr = r["trace"]
        days = [t["day"] for t in tr]
        score = [min(t["anomaly"], 6.0) for t in tr]
        c = COLORS.get(r["fault"], "k")
        ax.plot(days, score, lw=0.6, color=c, alpha=0.8,
                label=f"{r['fault']} ({r['bearing'].split()[0]}, seed {r['seed']})")
        for e in r["events"]:
            ax.plot(float(e["time"]), 6.1 if e["level"] == "alarm" else 5.8,
                    marker="v" if e["level"] == "alarm" else "^", color=c, ms=7)
        if r["fault"] != "healthy":
            ax.axvline(r["days"], color=c, ls=":", lw=1)
    ax.axhline(1.0, color="orange", lw=1, ls="--", label="anomaly model's limit (score 1)")
    ax.set_xlabel("day of route (baseline = day 0-1; dotted: simulated failure)")
    ax.set_ylabel("anomaly score, T²/limit (clipped at 6)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="center left", ncol=2, framealpha=0.6)
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / name
    fig.savefig(path)
    plt.close(fig)
    return f"img/{name}"


def _fmt(v: object) -> str:
    return "–" if v is None else str(v)


def _route_table(rows: list[dict]) -> list[str]:
    out = ["| route | bearing, r/min | days | drift | alerts / alarms latched | "
           "first alert: lead (d), fault dB | first alarm: lead (d), location | "
           "raw ok snapshots after 1st alarm | latch cleared | frozen baseline: events |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ev = Counter(e["level"] for e in r["events"])
        fz = Counter(e["level"] for e in r["frozen_events"])
        alert = (f"{_fmt(r.get('first_alert_lead_days'))}, "
                 f"{_fmt(r.get('first_alert_fault_db'))}") if r["fault"] != "healthy" else "–"
        alarm = (f"{_fmt(r.get('first_alarm_lead_days'))}, "
                 f"{_fmt(r.get('first_alarm_location'))}") if r["fault"] != "healthy" else "–"
        out.append(f"| {r['fault']} s{r['seed']} | {r['bearing'].split()[0]}, {r['rpm']} | "
                   f"{r['days']} | +{round(100 * r['drift'])} % | {ev['alert']} / {ev['alarm']} | "
                   f"{alert} | {alarm} | {_fmt(r.get('raw_ok_after_first_alarm'))} | "
                   f"{_fmt(r.get('latched_cleared'))} | "
                   f"{fz['alert']} alert, {fz['alarm']} alarm |")
    return out


def _cwru_table(c: dict) -> list[str]:
    out = ["| file | truth | load hp | alarm windows | alert windows | latched | "
           "location at the event | location after 10 windows |",
           "|---|---|---|---|---|---|---|---|"]
    for f in c["files"]:
        out.append(f"| {f['file']} | {f['truth']} | {f['load_hp']} | "
                   f"{f['alarm_windows']}/{f['windows']} | {f['alert_windows']}/{f['windows']} | "
                   f"{f['state']} | {_mark(f['event_location'], f['truth'])} | "
                   f"{_mark(f.get('episode_location'), f['truth'])} |")
    return out


def _adabn_table(rows: list[dict]) -> list[str]:
    def cell(d: dict) -> str:
        return f"{d['normal']} / {d['fault']} / {d['unknown']}"

    out = ["### AdaBN from the route's first day (held-out routes, `fault-cwru`)", "",
           "Windows of the test snapshots (healthy: days 5–10; degrading: the last day "
           "before failure) called normal / a fault / unknown, in %, by the shipped model "
           "and with the machine's batch-norm statistics (every layer, first layer only, "
           "applied as if the check allowed them). `check`: the share of the first day's "
           "windows the adapted model calls normal, and whether that reaches 90 % (the "
           "statistics are used only then).", "",
           "| route | bearing, r/min | shipped | AdaBN all | AdaBN first | check (all; first) |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        chk = "; ".join(f"{100 * r[f'healthy_normal_share_{k}']:.0f} % "
                        f"{'used' if r[f'usable_{k}'] else 'refused'}"
                        for k in ("all", "first"))
        out.append(f"| {r['fault']} s{r['seed']} | {r['bearing'].split()[0]}, {r['rpm']} | "
                   f"{cell(r['shipped'])} | {cell(r['adabn_all'])} | "
                   f"{cell(r['adabn_first'])} | {chk} |")
    return out


def _mark(loc: object, truth: str) -> str:
    if loc in (None, "", "unknown"):
        return "unknown"
    return f"{loc} {'✔' if loc == truth else '✘'}"


def _summary(rows: list[dict]) -> dict[str, object]:
    healthy = [r for r in rows if r["fault"] == "healthy"]
    bad = [r for r in rows if r["fault"] != "healthy"]
    leads = [r.get("first_alert_lead_days") for r in bad]
    return {
        "healthy routes": len(healthy),
        "alarms on healthy routes": sum(e["level"] == "alarm" for r in healthy
                                        for e in r["events"]),
        "alerts on healthy routes": sum(e["level"] == "alert" for r in healthy
                                        for e in r["events"]),
        "degrading routes": len(bad),
        "first alert >= 2 days before failure": sum(1 for v in leads if v is not None
                                                    and v >= 2.0),
        "alarm location right": sum(r.get("first_alarm_location") == r["fault"] for r in bad),
        "latched alarm cleared while the fault grew": sum(bool(r.get("latched_cleared"))
                                                           for r in bad),
        "healthy snapshots with anomaly >= 1, T² model / distance to limits (%)":
            " / ".join(f"{_mean([r.get(k) for r in healthy]):.2f}"
                       for k in ("anomaly_ge1_pct", "limits_anomaly_ge1_pct")),
        "healthy routes with 3 snapshots in a row at anomaly >= 1, T² model / limits":
            f"{sum(bool(r.get('anomaly_run3')) for r in healthy)} / "
            f"{sum(bool(r.get('limits_anomaly_run3')) for r in healthy)}",
        "degrading: 3 snapshots in a row with anomaly >= 1, lead (d), T² model / limits":
            "; ".join(f"{_fmt(r.get('first_anomaly_lead_days'))} / "
                      f"{_fmt(r.get('first_limits_anomaly_lead_days'))}" for r in bad),
    }


def _mean(values: list[object]) -> float:
    v = [float(x) for x in values if isinstance(x, int | float)]
    return sum(v) / len(v) if v else float("nan")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    srcs = [Path(a) for a in argv] or [
        p for p in (ROOT / "build" / "baseline_results.json",
                    ROOT / "build" / "baseline_adabn.json") if p.is_file()]
    res: dict = {}
    for src in srcs:  # several partial results (blocks run in parallel) merge by key
        doc = json.loads(src.read_text())
        if isinstance(doc, list):  # tools/eval_baseline_adabn.py's rows
            res["adabn"] = doc
        else:
            res.update(doc)
    lines = (ROOT / "tools" / "baseline_md_head.md").read_text().rstrip().splitlines()
    for block, title in (("dev", "Development routes (constants chosen on these)"),
                         ("held_out", "Held-out routes (run once, never tuned on)"),
                         ("stress", "Stress: healthy routes with load swings x1.3 and "
                                    "transient knocks (changes 1-2 above were made on it)")):
        rows = res.get(block) or []
        if not rows:
            continue
        fig = _figure(rows, f"baseline_{block}.png", title)
        lines += ["", f"### {title}", "", f"![{block} routes]({fig})", ""]
        lines += [f"- {k}: **{v}**" for k, v in _summary(rows).items()
                  if v != "" and ("degrading" in k
                                  or any(r["fault"] != "healthy" for r in rows)
                                  or "healthy" in k)]
        lines += ["", *_route_table(rows)]
    if "cwru" in res:
        c = res["cwru"]
        files = c["files"]
        alarmed = sum(f["state"] == "alarm" for f in files)
        lines += ["", "### CWRU drive end: thin baseline from the healthy file, then faults",
                  "", f"Baseline: `normal_0_97_part1.mat` (0 hp, 48 kHz resampled to 12 kHz): "
                  f"{c['baseline']['snapshots']} one-second snapshots "
                  f"({'thin' if c['baseline']['thin'] else 'not thin'}), "
                  f"{c['baseline_rpm']:.0f} r/min. Each fault file (0 hp: the baseline's load; "
                  "1 hp: a load the baseline never saw) judged on up to 10 one-second windows "
                  "with a fresh latch, no drift. Location: right / unknown / wrong, at the "
                  "alarm event and after the 10 windows (the episode's most named location).",
                  "", f"- files latched at **alarm**: {alarmed} / {len(files)}"]
        for truth in ("outer_race", "inner_race", "ball"):
            sub = [f for f in files if f["truth"] == truth]
            for key, what in (("event_location", "at the event"),
                              ("episode_location", "after 10 windows")):
                got = [f.get(key) for f in sub]
                right = sum(g == truth for g in got)
                unknown = sum(g in (None, "", "unknown") for g in got)
                lines.append(f"- {truth} ({len(sub)} files), {what}: right **{right}**, "
                             f"unknown {unknown}, wrong {len(sub) - right - unknown}")
        lines += ["", *_cwru_table(c)]
    if res.get("adabn"):
        lines += ["", *_adabn_table(res["adabn"])]
    (ROOT / "docs" / "baseline.md").write_text("\n".join(lines) + "\n")
    print("wrote docs/baseline.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
