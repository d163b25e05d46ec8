"""The peer in the benchmark: dlt loads the same Sage 50 export into a local duckdb database.

    python benchmarks/dlt_load.py EXPORT.json WORKDIR [--format parquet|insert_values]

dlt (https://dlthub.com) is the best-known Python loading library; this script gives it the
records migrationkit moves, with money as ``Decimal`` as ours is. An export written one
transaction per line (our generator's layout, master data before the transactions) is read line
by line with ``json``; any other layout (one compact line, or indented, as
``benchmarks/foreign.py`` writes them) is streamed with ``ijson``'s C backend, the usual way to
read a large JSON document without holding it.
dlt infers the schema, unnests each transaction's splits and allocations into child tables,
normalises and loads into duckdb, its fastest local destination (parquet load files by default;
``--format insert_values`` is dlt's default for duckdb and slower here).

Run by ``benchmarks/run.py`` in its own process, so its time and memory are measured alone. It
needs the ``bench`` extra: ``pip install '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

# No telemetry: the benchmark machines have no network, and a run must not wait for one.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt
import ijson

_MONEY = frozenset({"net", "tax", "gross", "outstanding", "exchange_rate", "balance", "amount"})
_MASTER = (
    "nominal_accounts",
    "tax_codes",
    "departments",
    "bank_accounts",
    "customers",
    "suppliers",
    "products",
)
_OPENING = '"transactions":['


def _decimals(record: dict[str, Any]) -> dict[str, Any]:
    for key, value in record.items():
        if key in _MONEY and isinstance(value, str):
            record[key] = Decimal(value)
        elif isinstance(value, list):
            for child in value:
                if isinstance(child, dict):
                    _decimals(child)
    return record


def _line_layout(path: Path) -> bool:
    """Whether the trail is one transaction per line, after a line that opens it."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if line.startswith(_OPENING):
                return True
            if number > 100_000 or len(line) > 1_000_000:
                return False
    return False


def _stream_head(path: Path) -> dict[str, Any]:
    """Every top-level section but the transactions, from any layout (stops at the trail)."""
    head: dict[str, Any] = {}
    with path.open("rb") as handle:
        events = ijson.parse(handle, use_float=False)
        for prefix, event, value in events:
            if prefix != "" or event != "map_key":
                continue
            if value == "transactions":
                break
            builder = ijson.ObjectBuilder()
            depth = 0
            for _prefix, inner, inner_value in events:
                builder.event(inner, inner_value)
                depth += inner in ("start_map", "start_array")
                depth -= inner in ("end_map", "end_array")
                if depth == 0:
                    break
            head[value] = builder.value
    return head


def _stream_transactions(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for record in ijson.items(handle, "transactions.item", use_float=False):
            yield _decimals(record)


def _head(path: Path) -> dict[str, Any]:
    """Everything before the transactions, as one JSON document."""
    lines = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(_OPENING):
                break
            lines.append(line)
    return json.loads("".join(lines) + '"transactions":[]}')


def _transactions(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(_OPENING):
                break
        for line in handle:
            if line.startswith("{"):
                yield _decimals(json.loads(line.rstrip().rstrip(",")))


def load(path: Path, work: Path, loader_file_format: str) -> dict[str, int]:
    lines = _line_layout(path)
    head = _head(path) if lines else _stream_head(path)
    resources = [
        dlt.resource(
            (_decimals(dict(row)) for row in head[name]), name=name, write_disposition="replace"
        )
        for name in _MASTER
    ]
    resources.append(
        dlt.resource(
            _transactions(path) if lines else _stream_transactions(path),
            name="transactions",
            write_disposition="replace",
            primary_key="header_number",
        )
    )
    pipeline = dlt.pipeline(
        pipeline_name="sage50_bench",
        pipelines_dir=str(work / "pipelines"),
        destination=dlt.destinations.duckdb(str(work / "bench.duckdb")),
        dataset_name="sage50",
    )
    pipeline.run(resources, loader_file_format=loader_file_format)  # type: ignore[arg-type]
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM transactions")
        splits = client.execute_sql("SELECT count(*) FROM transactions__splits")
    return {"transactions": rows[0][0], "splits": splits[0][0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--format", default="parquet", choices=("parquet", "insert_values"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    counts = load(args.export, args.work, args.format)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
