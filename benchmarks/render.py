"""Render docs/benchmarks.md from the saved results in benchmarks/results/.

    python benchmarks/run.py --render-only

``latest.json`` holds the last run of ``benchmarks/run.py``; ``baseline.json`` (optional) the same
benchmarks run on the code before the performance work, for the before/after comparison;
``analysis.md`` is the hand-written reading of the figures; ``xero.md`` and
``sage-accounting.md`` are the API connectors' benchmarks (``benchmarks/bench_xero.py``);
``portfolio.md`` is a portfolio's, one worker against two (``benchmarks/bench_portfolio.py``).
Nothing here measures anything: every number comes from those files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The targets of issue 6, as (benchmark, size, field, comparison, bound, wording).
TARGETS: list[tuple[str, int, str, str, float, str]] = [
    ("full", 1_000_000, "rate", ">=", 20_000, "full migration, 1M transactions: ≥ 20,000 tx/s"),
    ("full", 1_000_000, "tree_mib", "<=", 200, "full migration, 1M: peak memory ≤ 200 MiB"),
    ("ours", 0, "ratio", ">=", 5, "dlt into duckdb takes ≥ 5× our time"),
    ("delta10", 1_000_000, "share_of_full", "<=", 0.15, "delta of 10% changed: ≤ 15% of full"),
    ("rerun", 1_000_000, "share_of_full", "<=", 0.10, "re-run, nothing changed: ≤ 10% of full"),
    ("validate", 1_000_000, "rate", ">=", 50_000, "validator, 1M: ≥ 50,000 tx/s"),
]


def _rows(payload: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [row for row in payload["rows"] if row["benchmark"] == name]


def _row(payload: dict[str, Any], name: str, size: int) -> dict[str, Any] | None:
    for row in _rows(payload, name):
        if row["transactions"] == size:
            return row
    return None


def _seconds(row: dict[str, Any]) -> str:
    return f"{row['seconds']:.2f} s ({row['seconds_min']:.2f}–{row['seconds_max']:.2f})"


def _table(header: Iterable[str], lines: Iterable[Iterable[str]]) -> str:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def _targets(latest: dict[str, Any]) -> str:
    lines = []
    for name, size, field, op, bound, wording in TARGETS:
        if name == "ours":
            dlt_rows = _rows(latest, "dlt")
            row = max(dlt_rows, key=lambda r: r["transactions"]) if dlt_rows else None
        else:
            row = _row(latest, name, size)
        if row is None or field not in row:
            lines.append([wording, "not measured", "–"])
            continue
        value = row[field]
        met = value >= bound if op == ">=" else value <= bound
        if field == "rate":
            shown = f"{value:,.0f} tx/s"
        elif field == "tree_mib":
            shown = f"{value:.0f} MiB"
        elif field == "ratio":
            shown = f"{value:.1f}× (at {row['transactions']:,})"
        else:
            shown = f"{value:.0%}"
        lines.append([wording, shown, "met" if met else "**not met**"])
    return _table(["Target", "Measured (median)", ""], lines)


def _lifecycle(latest: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    lines = []
    for name in ("full", "rerun", "delta10"):
        for row in _rows(latest, name):
            before = _row(baseline, name, row["transactions"]) if baseline else None
            lines.append(
                [
                    name,
                    f"{row['transactions']:,}",
                    _seconds(row),
                    f"{row['rate']:,.0f}",
                    f"{row['mib']:.0f} / {row['tree_mib']:.0f}",
                    f"{row['share_of_full']:.0%}" if "share_of_full" in row else "",
                    f"{before['seconds']:.2f} s, {before['mib']:.0f} MiB" if before else "",
                ]
            )
    return _table(
        [
            "Run",
            "Transactions",
            "Time: median (min–max)",
            "tx/s",
            "Peak MiB: process / with worker",
            "Share of full",
            "Before (baseline)",
        ],
        lines,
    )


def _simple(latest: dict[str, Any], names: Iterable[str]) -> str:
    lines = [
        [
            row["benchmark"],
            f"{row['transactions']:,}",
            _seconds(row),
            f"{row['rate']:,.0f}",
            f"{row['tree_mib']:.0f}",
        ]
        for name in names
        for row in _rows(latest, name)
    ]
    return _table(["Run", "Transactions", "Time: median (min–max)", "tx/s", "Peak MiB"], lines)


def _dlt(latest: dict[str, Any]) -> str:
    lines = []
    for theirs in _rows(latest, "dlt"):
        ours = _row(latest, "ours", theirs["transactions"])
        if ours is None:
            continue
        lines.append(
            [
                f"{theirs['transactions']:,}",
                f"{_seconds(ours)}, {ours['tree_mib']:.0f} MiB",
                f"{_seconds(theirs)}, {theirs['tree_mib']:.0f} MiB",
                f"{theirs['ratio']:.1f}×",
            ]
        )
    return _table(["Transactions", "migrationkit (full, state on)", "dlt → duckdb", "Ratio"], lines)


def _profile(payload: dict[str, Any] | None) -> str:
    rows = _rows(payload, "profile") if payload else []
    if not rows:
        return "_not measured_"
    row = rows[0]
    lines = [
        [
            f"`{entry['function']}`",
            f"{entry['own_seconds']:.2f}",
            f"{entry['share']:.1%}",
            f"{entry['calls']:,}",
        ]
        for entry in row["top"]
    ]
    head = (
        f"{row['transactions']:,} transactions, {row['profiled_seconds']:.1f} s of own time "
        f"under cProfile (commit {payload.get('commit', '?') if payload else '?'}).\n\n"
    )
    areas = [
        [entry["area"], f"{entry['own_seconds']:.2f}", f"{entry['share']:.1%}"]
        for entry in row.get("areas", ())
    ]
    parts = [head, "By function:\n\n", _table(["Function", "Own s", "Share", "Calls"], lines)]
    if areas:
        parts += ["\n\nBy module:\n\n", _table(["Module", "Own s", "Share"], areas)]
    return "".join(parts)


def _embedded(path: Path) -> str:
    if not path.exists():
        return "_not measured_"
    text = path.read_text(encoding="utf-8")
    # One level deeper, so the embedded page's headings sit under this page's.
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())


def render(results: Path) -> str:
    latest = json.loads((results / "latest.json").read_text())
    baseline_path = results / "baseline.json"
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    analysis = results / "analysis.md"
    parts = [
        "# Benchmarks",
        "",
        "<!-- Written by benchmarks/run.py from benchmarks/results/; do not edit by hand. -->",
        "",
        "How to reproduce (repository root; the `bench` extra adds dlt, duckdb and pyarrow):",
        "",
        "```console",
        "tox -e bench                    # or: pip install '.[bench]' && python benchmarks/run.py",
        "python benchmarks/run.py --sizes 10000,100000 --repeat 3 --only full,dlt",
        "python benchmarks/run.py --render-only   # this page, from benchmarks/results/*.json",
        "```",
        "",
        f"Last run: `{latest['command']}` on {latest['when']}, commit {latest.get('commit', '?')}; "
        f"machine: {latest['machine']}. Each figure is the median of the runs shown in "
        "brackets (min–max); each run is its own process. Peak memory is the process's maximum "
        "resident set (`wait4`) and, for the whole process tree (the Sage 50 source indexes a "
        "large export's audit trail in a second process), the summed resident set sampled every "
        "20 ms. The data are generated Sage 50 companies (`migrationkit generate sage50 -n N "
        "--seed 42`): every transaction type, foreign currency, part payments, about 1.5 lines "
        "per transaction.",
        "",
        "## Targets",
        "",
        _targets(latest),
        "",
        "## Sage 50 JSON to CSV, state store on",
        "",
        "`full` is `migrationkit migrate` into an empty folder and state store; `rerun` the same "
        "command again (nothing changed); `delta10` is `migrationkit delta` on a copy of the "
        "export where every tenth transaction's details changed. The baseline column is the "
        "same benchmark on commit "
        f"{baseline.get('commit', '?') if baseline else '?'}, before the performance work "
        "(`benchmarks/results/baseline.json`).",
        "",
        _lifecycle(latest, baseline),
        "",
        "## Source alone and the validator",
        "",
        "`extract` reads and maps every record of the export and loads nothing; `validate` is "
        "`migrationkit validate`, every rule of docs/formats/sage50-json.md §11.",
        "",
        _simple(latest, ("extract", "validate")),
        "",
        "## Against dlt",
        "",
        "`benchmarks/dlt_load.py` gives dlt the same export, read the same cheap way, with money "
        "as `Decimal`; dlt infers the schema, unnests splits and allocations and loads duckdb "
        "through parquet files (its fastest local path here: its default `insert_values` took "
        "9.1 s and 2.1 GiB at 10k). The two runs alternate, in one invocation.",
        "",
        _dlt(latest),
        "",
        "## Profile, before and after",
        "",
        "Top functions by own time in one full run under cProfile (which slows the run about "
        "2×; the shares are what matter). Only the main process is profiled: after the work, "
        "the export's index is built by the worker process beside it.",
        "",
        "### Before",
        "",
        _profile(baseline),
        "",
        "### After",
        "",
        _profile(latest),
        "",
    ]
    if analysis.exists():
        parts += [analysis.read_text(encoding="utf-8").rstrip(), ""]
    parts += [
        "## API connectors",
        "",
        _embedded(results / "xero.md"),
        "",
        _embedded(results / "sage-accounting.md"),
        "",
        _embedded(results / "portfolio.md"),
        "",
    ]
    return "\n".join(parts)
