"""The sage50-json source: both file layouts, the mapping's choices, unreadable files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from migrationkit import (
    ENTITY_ORDER,
    AccountType,
    BankTransfer,
    ControlRole,
    CreditNote,
    Payment,
    PluginRegistry,
    Rejected,
    SourceError,
    TaxTreatment,
    fingerprint,
)
from migrationkit.connectors.sage50 import mapping, scan, spool
from migrationkit.core.errors import MappingError
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate


def open_source(path: Path):  # type: ignore[no-untyped-def]
    return PluginRegistry().open("sage50-json", {"location": str(path)})


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("s50") / "company.json"
    generate(path, GeneratorOptions(seed=9, transactions=600))
    return path


def snapshot(path: Path) -> dict[str, dict[str, str]]:
    source = open_source(path)
    return {
        entity: {
            r.key: fingerprint(r) for r in source.extract(entity) if not isinstance(r, Rejected)
        }
        for entity in ENTITY_ORDER
    }


@pytest.mark.parametrize("layout", [{"indent": 2}, {"separators": (",", ":")}])
def test_a_pretty_printed_or_one_line_file_reads_exactly_like_the_line_layout(
    export: Path, tmp_path: Path, layout: dict[str, Any]
) -> None:
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(json.loads(export.read_text("utf-8")), ensure_ascii=False, **layout)
    )
    assert snapshot(export) == snapshot(other)
    # Both are indexed by byte offsets (no stream parse, no pickled spool).
    assert open_source(export).instance.stage().layout == "lines"  # type: ignore[attr-defined]
    assert open_source(other).instance.stage().layout == "lines"  # type: ignore[attr-defined]


def test_a_trail_the_scanner_refuses_is_read_by_the_stream_parser(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(export.read_text("utf-8")), indent=2))
    expected = snapshot(export)
    monkeypatch.setattr(scan, "CHUNK", 4096)
    monkeypatch.setattr(scan, "ELEMENT_LIMIT", 10)  # every element is "too large"
    assert snapshot(pretty) == expected
    assert open_source(pretty).instance.stage().layout == "events"  # type: ignore[attr-defined]


def test_key_order_does_not_matter(export: Path, tmp_path: Path) -> None:
    data = json.loads(export.read_text("utf-8"))
    shuffled = {"transactions": data.pop("transactions"), **data}
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(shuffled))
    assert snapshot(moved) == snapshot(export)


def test_mapping_choices(export: Path) -> None:
    source = open_source(export)
    accounts = {a.key: a for a in source.extract("ledger_accounts")}
    assert accounts["1100"].control_role is ControlRole.RECEIVABLES
    assert accounts["1200"].type is AccountType.BANK
    assert accounts["1200"].control_role is ControlRole.BANK
    rates = {t.key: t for t in source.extract("tax_rates")}
    assert rates["T1"].treatment is TaxTreatment.STANDARD
    assert rates["T9"].treatment is TaxTreatment.OUTSIDE_SCOPE
    assert rates["T7"].treatment is TaxTreatment.EC_GOODS_PURCHASES
    contacts = {c.key for c in source.extract("contacts")}
    assert any(k.startswith("customer:") for k in contacts)
    assert any(k.startswith("supplier:") for k in contacts)
    assert any(isinstance(t, BankTransfer) for t in source.extract("bank_transfers"))
    assert any(c.discount for c in source.extract("credit_notes") if isinstance(c, CreditNote))
    foreign = [
        p for p in source.extract("payments") if isinstance(p, Payment) and p.currency != "GBP"
    ]
    assert foreign and all(p.amount != p.base_amount for p in foreign)
    deleted = list(source.extract_deleted("invoices"))
    keys = {i.key for i in source.extract("invoices")}
    assert deleted and not set(deleted) & keys


def test_a_broken_transaction_is_rejected_with_its_pointer(export: Path, tmp_path: Path) -> None:
    lines = export.read_bytes().split(b"\n")
    start = next(n for n, line in enumerate(lines) if line.startswith(b'"transactions"'))
    victim = json.loads(lines[start + 3].rstrip(b","))
    victim["date"] = "someday"
    lines[start + 3] = json.dumps(victim).encode() + b","
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"\n".join(lines))
    source = open_source(broken)
    entity = next(
        e for e in ENTITY_ORDER if any(isinstance(r, Rejected) for r in source.extract(e))
    )
    [rejected] = [r for r in source.extract(entity) if isinstance(r, Rejected)]
    assert rejected.pointer == "/transactions/2"
    assert "'someday' is not a date" in rejected.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b'{"format": "sage50-json", "format_version": "1.0", "company": {"na', "cut off"),
        (b'{"format": "xero"}', "not a sage50-json export"),
        (b'{"format": "sage50-json", "format_version": "2.0"}', "version 2.0"),
        (b"[1, 2]", "JSON object at the top level"),
        (
            '{"format": "sage50-json", "company": {"name": "Caf\xe9"}}'.encode("cp1252"),
            "not readable",
        ),
    ],
)
def test_unreadable_files_raise_one_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        list(open_source(path).extract("company"))


def test_a_missing_file_is_named() -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(Path("/nonexistent/company.json"))


def test_amounts_stay_decimal(export: Path) -> None:
    invoice = next(iter(open_source(export).extract("invoices")))
    assert all(
        isinstance(v, Decimal)
        for line in invoice.lines
        for v in (line.net, line.tax, line.base_net)
    )  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["NaN", "1E+2", "12,50", "", 1.5, True])
def test_an_amount_that_is_not_one_is_refused(bad: object) -> None:
    # Amounts are read through core.money: decimal text or an exact number, nothing else.
    with pytest.raises(MappingError, match="is not an amount"):
        mapping.map_item({"stock_code": "MUG", "sales_price": "1.00", "purchase_price": bad})


def test_amounts_are_text_or_exact_numbers() -> None:
    item = mapping.map_item({"stock_code": "MUG", "sales_price": "9.2000", "purchase_price": 4})
    assert (item.sales_price, item.purchase_price) == (Decimal("9.2000"), Decimal(4))
    assert str(item.sales_price) == "9.2000"  # the scale is kept


def test_validating_builds_the_index_so_a_migration_reads_the_export_once(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(json.loads(export.read_text("utf-8")), separators=(",", ":")))
    expected = snapshot(compact)
    source = open_source(compact)
    assert not [f for f in source.validate() if f.is_error]

    def read_again(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the trail was indexed a second time")

    monkeypatch.setattr(spool, "index_trail", read_again)
    found = {
        entity: {
            r.key: fingerprint(r) for r in source.extract(entity) if not isinstance(r, Rejected)
        }
        for entity in ENTITY_ORDER
    }
    assert found == expected


def test_a_killed_runs_spool_folder_is_removed_by_the_next_run(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    killed = tmp_path / f"{spool.FOLDER_PREFIX}killed"
    killed.mkdir()
    (killed / "owner.pid").write_text(finished.stdout.strip())
    (killed / "invoices.index").write_text("0\t0\t1\t1\tx\t\n")
    running = tmp_path / f"{spool.FOLDER_PREFIX}running"
    running.mkdir()
    (running / "owner.pid").write_text(str(os.getppid()))
    source = open_source(export)
    list(source.extract("invoices"))
    assert not killed.exists()
    assert running.exists(), "a folder whose run is still alive is left alone"
    spooled = [p for p in tmp_path.iterdir() if p.name.startswith(spool.FOLDER_PREFIX)]
    assert len(spooled) == 2, "this run's own folder, and the running one"
