"""A delta from a Sage 50 export hands over only what changed, and leaves the CSV folder as a
fresh full run of the new export would write it, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrationkit import Migration, MigrationOptions, PluginRegistry, SQLiteStateStore
from migrationkit.connectors.sage50 import mapping
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate


def _lines(path: Path) -> tuple[list[str], list[str], list[str]]:
    """The export as (lines before the trail, one line per transaction, lines after it)."""
    lines = path.read_text("utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip().startswith('"transactions"'))
    end = next(n for n in range(start + 1, len(lines)) if lines[n].strip().startswith("]"))
    trail = [line.rstrip(",") for line in lines[start + 1 : end]]
    return lines[: start + 1], trail, lines[end:]


def _write(path: Path, head: list[str], trail: list[str], tail: list[str]) -> None:
    body = ",\n".join(trail)
    path.write_text("\n".join(head) + "\n" + body + "\n" + "\n".join(tail) + "\n", "utf-8")


def _allocated(trail: list[str]) -> set[int]:
    numbers: set[int] = set()
    for line in trail:
        for allocation in json.loads(line).get("allocations") or ():
            numbers.add(allocation["header_number"])
    return numbers


def _edited(export: Path, changed_path: Path) -> dict[str, int]:
    """A copy of ``export`` with every tenth transaction amended, one new invoice at the end,
    one invoice gone from the file and one flagged deleted (as Sage 50 keeps them)."""
    head, trail, tail = _lines(export)
    allocated = _allocated(trail)
    invoices = [
        n
        for n, record in enumerate(map(json.loads, trail))
        if record["type"] == "SI"
        and not record.get("deleted")
        and record["header_number"] not in allocated
        and n % 10
    ]
    gone, flagged = invoices[0], invoices[1]
    amended = 0
    out = []
    for n, line in enumerate(trail):
        record = json.loads(line)
        if n == gone:
            continue
        if n == flagged:
            record["deleted"] = True
        elif n % 10 == 0:
            record["details"] = (record.get("details", "") + " (amended)")[:60]
            amended += 1
        out.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    new = json.loads(trail[invoices[2]])
    new["header_number"] = max(json.loads(line)["header_number"] for line in trail) + 1
    new["details"] = "a new invoice"
    out.append(json.dumps(new, ensure_ascii=False, separators=(",", ":")))
    _write(changed_path, head, out, tail)
    return {"amended": amended}


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.glob("*.csv"))}


def _migrate(export: Path, out: Path, state: Path, mode: str) -> object:
    registry = PluginRegistry()
    run = Migration(
        registry.open("sage50-json", {"location": str(export)}),
        registry.open("csv", {"location": str(out)}),
        SQLiteStateStore(state),
        # A transaction added or taken out by hand leaves the stated balances behind, which
        # the validator rightly reports; what is tested here is the delta.
        MigrationOptions(validate=False),
    )
    return run.delta() if mode == "delta" else run.full()


def test_a_delta_maps_only_what_changed_and_writes_what_a_full_run_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "company.json"
    generate(export, GeneratorOptions(seed=11, transactions=600))
    changed = tmp_path / "changed.json"
    _edited(export, changed)
    first = _migrate(export, tmp_path / "out", tmp_path / "state.db", "full")
    assert first.status == "succeeded"  # type: ignore[attr-defined]

    mapped: list[object] = []
    real = mapping.map_transaction

    def counting(raw: dict, index: object) -> object:  # type: ignore[type-arg]
        mapped.append(raw.get("header_number"))
        return real(raw, index)  # type: ignore[arg-type]

    monkeypatch.setattr(mapping, "map_transaction", counting)
    report = _migrate(changed, tmp_path / "out", tmp_path / "state.db", "delta")
    assert report.status == "succeeded", report  # type: ignore[attr-defined]
    totals = report.totals()  # type: ignore[attr-defined]
    _head, trail, _tail = _lines(export)
    transactions = [json.loads(line) for line in trail]
    spooled = [t for t in transactions if t["type"] not in ("JD", "JC")]
    # Every tenth transaction changed, plus the new one: only those are mapped.
    assert 0 < len(mapped) <= len(spooled) // 10 + 2, (len(mapped), len(spooled))
    assert totals.unchanged > 0.8 * len(spooled)
    assert totals.deleted == 2, "the invoice gone from the file and the one flagged deleted"
    assert totals.created >= 1
    assert totals.skipped == totals.failed == 0

    monkeypatch.setattr(mapping, "map_transaction", real)
    fresh = _migrate(changed, tmp_path / "fresh", tmp_path / "fresh.db", "full")
    assert fresh.status == "succeeded"  # type: ignore[attr-defined]
    delta_files, full_files = _folder(tmp_path / "out"), _folder(tmp_path / "fresh")
    assert delta_files.keys() == full_files.keys()
    for name, content in full_files.items():
        assert delta_files[name] == content, f"{name} differs from a full run's"
