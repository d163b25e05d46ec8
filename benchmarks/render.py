"""Render docs/benchmarks.md from the saved results in benchmarks/results/.

    python benchmarks/run.py --render-only

``latest.json`` holds the last run of ``benchmarks/run.py``; ``baseline.json`` (optional) a run
on the code before the first performance work, whose profile is shown for comparison;
``analysis.md`` is the hand-written reading of a run (its first line names the commit it read:
when that is not the commit of ``latest.json`` it is shown as an earlier reading, so the page
never presents figures it did not measure as current); ``requests.md`` is the API connectors'
requests per record (``benchmarks/bench_requests.py``); ``xero.md``, ``exact.md``,
``sage-accounting.md`` and ``portfolio.md`` are the other API and portfolio benchmarks.
Nothing here measures anything: every number comes from those files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SIZES = (10_000, 100_000, 1_000_000)
SHAPES = {
    "ours": "ours (generator, a transaction a line)",
    "compact": "foreign, compact (one line)",
    "pretty": "foreign, pretty (indented)",
}

# The goals of issue 17, as (benchmark, field, comparison, bound, wording).
TARGETS: list[tuple[str, str, str, float, str]] = [
    ("full", "rate", ">=", 25_000, "full migration (default command) ≥ 25,000 tx/s"),
    ("dlt", "ratio", ">=", 5, "dlt → duckdb takes ≥ 5× our full migration's time"),
    ("rerun", "share_of_full", "<", 0.03, "re-run, nothing changed: < 3% of full"),
    ("delta10", "share_of_full", "<=", 0.15, "delta, 10% changed: ≤ 15% of full"),
    ("full", "tree_mib", "<=", 150, "`migrate`: peak memory of the process tree ≤ 150 MiB"),
    ("validate", "tree_mib", "<=", 150, "`validate`: peak memory of the process tree ≤ 150 MiB"),
]


def _rows(payload: dict[str, Any], name: str, shape: str | None = None) -> list[dict[str, Any]]:
    return [
        row
        for row in payload["rows"]
        if row["benchmark"] == name and (shape is None or row.get("shape", "ours") == shape)
    ]


def _row(
    payload: dict[str, Any], name: str, size: int, shape: str = "ours"
) -> dict[str, Any] | None:
    for row in _rows(payload, name, shape):
        if row["transactions"] == size:
            return row
    return None


def _shapes(payload: dict[str, Any]) -> list[str]:
    seen = {row.get("shape", "ours") for row in payload["rows"]}
    return [shape for shape in SHAPES if shape in seen]


def _seconds(row: dict[str, Any]) -> str:
    return f"{row['seconds']:.2f} s ({row['seconds_min']:.2f}–{row['seconds_max']:.2f})"


def _table(header: Iterable[str], lines: Iterable[Iterable[str]]) -> str:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def _shown(field: str, value: float) -> str:
    if field == "rate":
        return f"{value:,.0f} tx/s"
    if field == "tree_mib":
        return f"{value:.0f} MiB"
    if field == "ratio":
        return f"{value:.2f}×"
    return f"{value:.1%}"


def _verdict(field: str, op: str, bound: float, value: float) -> str:
    met = value >= bound if op == ">=" else value < bound if op == "<" else value <= bound
    if met:
        return f"{_shown(field, value)}: met"
    factor = bound / value if op == ">=" else value / bound
    how = "short" if op == ">=" else "over"
    return f"{_shown(field, value)}: **missed**, {factor:.1f}× {how}"


def _by_cpu(latest: dict[str, Any], row: dict[str, Any], field: str) -> float | None:
    """The figure of ``field`` worked out from CPU seconds instead of wall time."""
    cpu = row.get("cpu_seconds")
    if not cpu or field == "tree_mib":
        return None
    if field == "rate":
        return float(row["transactions"] / cpu)
    full = _row(latest, "full", row["transactions"], row.get("shape", "ours"))
    if full is None or not full.get("cpu_seconds"):
        return None
    # A share of the full run, or dlt's time against it: both against the full run's CPU.
    return float(cpu / full["cpu_seconds"])


def _targets(latest: dict[str, Any]) -> str:
    lines = []
    for name, field, op, bound, wording in TARGETS:
        for shape in SHAPES:
            cells = []
            for size in SIZES:
                row = _row(latest, name, size, shape)
                if row is None or field not in row:
                    cells.append("not measured")
                    continue
                cell = _verdict(field, op, bound, row[field])
                cpu = _by_cpu(latest, row, field)
                if cpu is not None:
                    cell += f" (by CPU time: {_shown(field, cpu)})"
                cells.append(cell)
            if all(cell == "not measured" for cell in cells) and shape != "ours":
                continue
            lines.append([wording, SHAPES[shape], *cells])
    return _table(["Goal", "Data", *(f"{size:,}" for size in SIZES)], lines)


def _lifecycle(latest: dict[str, Any]) -> str:
    lines = []
    for shape in _shapes(latest):
        for name in ("full", "rerun", "delta10"):
            for row in _rows(latest, name, shape):
                lines.append(
                    [
                        name,
                        SHAPES[shape],
                        f"{row['transactions']:,}",
                        _seconds(row),
                        _cpu(row),
                        f"{row['rate']:,.0f}",
                        f"{row['mib']:.0f} / {row['tree_mib']:.0f}",
                        f"{row['share_of_full']:.1%}" if "share_of_full" in row else "",
                    ]
                )
    return _table(
        [
            "Run",
            "Data",
            "Transactions",
            "Time: median (min–max)",
            "CPU s",
            "tx/s",
            "Peak MiB: process / tree",
            "Share of full",
        ],
        lines,
    )


def _cpu(row: dict[str, Any]) -> str:
    return f"{row['cpu_seconds']:.2f}" if "cpu_seconds" in row else "–"


def _simple(latest: dict[str, Any], names: Iterable[str]) -> str:
    lines = [
        [
            row["benchmark"],
            SHAPES[row.get("shape", "ours")],
            f"{row['transactions']:,}",
            _seconds(row),
            _cpu(row),
            f"{row['rate']:,.0f}",
            f"{row['tree_mib']:.0f}",
        ]
        for name in names
        for row in _rows(latest, name)
    ]
    return _table(
        [
            "Run",
            "Data",
            "Transactions",
            "Time: median (min–max)",
            "CPU s",
            "tx/s",
            "Peak MiB (tree)",
        ],
        lines,
    )


def _dlt(latest: dict[str, Any]) -> str:
    lines = []
    for theirs in _rows(latest, "dlt"):
        shape = theirs.get("shape", "ours")
        ours = _row(latest, "full", theirs["transactions"], shape) or _row(
            latest, "ours", theirs["transactions"], shape
        )
        if ours is None:
            continue
        lines.append(
            [
                SHAPES[shape],
                f"{theirs['transactions']:,}",
                f"{_seconds(ours)}, {ours['tree_mib']:.0f} MiB",
                f"{_seconds(theirs)}, {theirs['tree_mib']:.0f} MiB",
                f"{theirs['ratio']:.2f}×",
            ]
        )
    return _table(
        ["Data", "Transactions", "migrationkit `migrate` (default)", "dlt → duckdb", "Ratio"],
        lines,
    )


def _profile(payload: dict[str, Any] | None) -> str:
    rows = _rows(payload, "profile") if payload else []
    if not rows:
        return "_not measured_"
    return "\n\n".join(_one_profile(payload, row) for row in rows)


def _one_profile(payload: dict[str, Any] | None, row: dict[str, Any]) -> str:
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
        f"{row['transactions']:,} transactions ({SHAPES[row.get('shape', 'ours')]}), "
        f"{row['profiled_seconds']:.1f} s of own time under cProfile "
        f"(commit {payload.get('commit', '?') if payload else '?'}).\n\n"
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


_ANALYSIS_COMMIT = re.compile(r"<!--\s*commit:\s*([0-9a-f]+)\s*-->")


def _analysis(path: Path, latest: dict[str, Any]) -> list[str]:
    """The hand-written reading, marked as earlier when it read another run than latest.json."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8").rstrip()
    found = _ANALYSIS_COMMIT.search(text)
    read = found.group(1) if found else None
    body = _ANALYSIS_COMMIT.sub("", text).strip()
    body = "\n".join(line for line in body.splitlines() if not line.startswith("## "))
    if read is not None and read == latest.get("commit"):
        return ["## What the figures say", "", body.strip(), ""]
    return [
        f"## An earlier reading (commit {read or 'unknown'})",
        "",
        '!!! warning "Not about the tables above"',
        f"    This reading was written for an earlier run (commit {read or 'unknown'}), on the "
        "generator's data only, with migrations run with `--skip-validation` and against the "
        "targets of an earlier issue. Its figures are not the ones measured above; it is kept "
        "for the history of the work.",
        "",
        body.strip(),
        "",
    ]


def _earlier_rows(latest: dict[str, Any]) -> list[str]:
    """Rows kept from earlier runs by ``run.py --merge``, said by run: command and sizes."""
    runs: dict[tuple[str, str, str], set[int]] = {}
    for row in latest["rows"]:
        if "measured" in row:
            measured = row["measured"]
            where = (
                str(measured.get("command")),
                str(measured.get("commit")),
                str(measured.get("when")),
            )
            runs.setdefault(where, set()).add(row["transactions"])
    lines = [
        f"The figures at {', '.join(f'{n:,}' for n in sorted(sizes))} transactions come from an "
        f"earlier run of the same harness: `{command}`, commit {commit}, {when}."
        for (command, commit, when), sizes in runs.items()
    ]
    return [" ".join(lines), ""] if lines else []


def render(results: Path) -> str:
    latest = json.loads((results / "latest.json").read_text())
    baseline_path = results / "baseline.json"
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    load = latest.get("load_average")
    load_text = (
        f" The machine's load average when the run ended was {load:.1f} on "
        f"{latest['machine'].split(', ')[1]}: other work shared it, so wall times are longer "
        "than on an idle machine; the CPU seconds say how much work each run was."
        if load is not None
        else ""
    )
    old_command = "migrate" not in latest
    parts = [
        "# Benchmarks",
        "",
        "<!-- Written by benchmarks/run.py from benchmarks/results/; do not edit by hand. -->",
        "",
        *(
            [
                '!!! warning "Measured with an older harness"',
                "    The run below predates the default-command benchmarks: its migrations ran "
                "with `--skip-validation`, on the generator's data only. Run "
                "`python benchmarks/run.py` to replace it.",
                "",
            ]
            if old_command
            else []
        ),
        "How to reproduce (repository root; the `bench` extra adds dlt, duckdb and pyarrow):",
        "",
        "```console",
        "tox -e bench                    # or: pip install '.[bench]' && python benchmarks/run.py",
        "python benchmarks/run.py --sizes 10000,100000 --shapes ours,compact,pretty --repeat 3",
        "python benchmarks/run.py --render-only   # this page, from benchmarks/results/*",
        "python benchmarks/bench_requests.py      # requests per record of the API connectors",
        "```",
        "",
        f"Last run: `{latest['command']}` on {latest['when']}, commit {latest.get('commit', '?')}; "
        f"machine: {latest['machine']}.{load_text} Each figure is the median of the runs shown "
        "in brackets (min–max); each run is its own process. Peak memory is the process's "
        "maximum resident set (`wait4`) and, for the whole process tree (the Sage 50 source may "
        "work in a second process), the summed resident set sampled every 20 ms.",
        "",
        "Every migration is the command a user types, with its defaults: `migrationkit migrate "
        "sage50-json:FILE csv:DIR` (the source is validated first), a state store, reports. The "
        "data come in three shapes:",
        "",
        "- **ours**: the project's generator (`migrationkit generate sage50 -n N --seed 42`): one "
        "transaction a line, about 1.5 splits a transaction, a few hundred accounts;",
        "- **foreign, compact** and **foreign, pretty**: `benchmarks/foreign.py`, a producer "
        "written from the format's description alone that shares no code with ours (seed 17): "
        "ten times the customers and products, 1.7 splits a transaction, another key order and "
        "other optional keys, written as one compact line or indented by two spaces.",
        "",
        *_earlier_rows(latest),
        "## Targets",
        "",
        "Each goal at each size and shape: met, or missed and by what factor (`short`: the "
        "figure must be multiplied by it to meet the goal; `over`: divided by it), judged on "
        "the median wall time as the goals are stated. In brackets, the same figure from CPU "
        "seconds (user and system, of the process and the children it waited for): on a busy "
        "machine it is closer to what an idle one would show, though a run that keeps both "
        "cores busy counts both. `not measured` means the run above did not measure it.",
        "",
        _targets(latest),
        "",
        "## Sage 50 JSON to CSV, state store on",
        "",
        "`full` is `migrationkit migrate` into an empty folder and state store; `rerun` the same "
        "command again (nothing changed); `delta10` is `migrationkit delta` on a copy of the "
        "export where every tenth transaction's details changed.",
        "",
        _lifecycle(latest),
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
        "`benchmarks/dlt_load.py` gives dlt the same export with money as `Decimal` (read line "
        "by line from our generator's layout, streamed with `ijson` from the others); dlt infers "
        "the schema, unnests splits and allocations and loads duckdb through parquet files. "
        "The dlt run follows our full run in each repetition, in one invocation.",
        "",
        _dlt(latest),
        "",
        "## Profile",
        "",
        "Top functions by own time in one full run under cProfile (which slows the run about "
        "2×; the shares are what matter). Only the main process is profiled.",
        "",
        "### Latest",
        "",
        _profile(latest),
        "",
        "### Before the first performance work",
        "",
        "Commit 12631b2, the generator's data, migrated with `--skip-validation` (then the "
        "benchmark's command): not comparable in total time with the latest profile, only in "
        "where the time went.",
        "",
        _profile(baseline),
        "",
    ]
    parts += _analysis(results / "analysis.md", latest)
    parts += ["## API connectors", ""]
    for name in ("requests.md", "xero.md", "exact.md", "sage-accounting.md", "portfolio.md"):
        parts += [_embedded(results / name), ""]
    return "\n".join(parts)
