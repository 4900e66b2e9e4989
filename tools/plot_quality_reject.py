"""Draw the reject curve of a quality model from its card (issue 26).

    PYTHONPATH=$PWD .venv/bin/python tools/plot_quality_reject.py \
        --model models/quality-steel --out docs/figures/quality-reject-curve.png

Reads ``metrics.selective_holdout_30pct`` (written by ``tools/train_quality_steel.py``:
accuracy on the accepted test parts vs the share of test parts accepted, the test parts
being a stratified 30 % never fitted or chosen on) and draws it with matplotlib (Agg, no
display), the chosen threshold's point marked and the issue's bar (95 % accuracy while
accepting 60 %) shown. Prints the same curve as a Markdown table (for the docs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def curve_table(sel: dict[str, Any]) -> str:
    """The curve as a Markdown table: coverage, threshold, accuracy on accepted parts."""
    lines = ["| coverage (share of test parts accepted) | threshold (calibrated probability ≥) "
             "| accuracy on accepted parts |", "|---|---|---|"]
    for p in sel["curve"]:
        lines.append(f"| {p['coverage']:.2f} | {p['threshold']:.3f} | {p['accuracy']:.3f} |")
    return "\n".join(lines)


def plot(sel: dict[str, Any], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cov = [p["coverage"] for p in sel["curve"]]
    acc = [p["accuracy"] for p in sel["curve"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.plot(cov, acc, marker="o", ms=3, lw=1.5, label="accepted parts, test 30 %")
    target = sel["target_accuracy"]
    ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:.0%}")
    ax.axvline(0.6, color="grey", ls=":", lw=1, label="issue bar: accept ≥ 60 %")
    if sel.get("accuracy_accepted") is not None:
        ax.plot([sel["coverage"]], [sel["accuracy_accepted"]], "o", color="C3", ms=8,
                label=f"threshold from the calibrate rows (p ≥ {sel['threshold']:.2f}): "
                      f"{sel['coverage']:.0%} accepted, {sel['accuracy_accepted']:.1%}")
    ax.set_xlabel("coverage: share of parts the model decides alone")
    ax.set_ylabel("accuracy on accepted parts")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(min(0.7, min(acc) - 0.02), 1.005)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})  # no version string: stable bytes
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=Path("models/quality-steel"))
    ap.add_argument("--out", type=Path, default=Path("docs/figures/quality-reject-curve.png"))
    args = ap.parse_args(argv)
    card = json.loads((args.model / "card.json").read_text(encoding="utf-8"))
    sel = card.get("metrics", {}).get("selective_holdout_30pct")
    if not isinstance(sel, dict) or "curve" not in sel:
        print(f"{args.model}: the card has no selective_holdout_30pct figures; retrain it with "
              f"tools/train_quality_steel.py", file=sys.stderr)
        return 1
    plot(sel, args.out, f"{card['name']} v{card['version']}: accuracy on accepted vs "
                        f"coverage ({sel['rows']['test']} test parts)")
    print(curve_table(sel))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
