"""The csv connector: lossless round trips, tolerant reading, durable and resumable writing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal as D
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import company, sales_invoice
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    LoadRequest,
    Operation,
    PluginRegistry,
    Record,
    Rejected,
    Removal,
    RemovalRequest,
    RunContext,
    SourceError,
    StateError,
    fingerprint,
)
from migrationkit.connectors.csv.connector import CHECKPOINT
from strategies import ANY_RECORD

RUN = RunContext(run_id="1", mode="full")


class _Identity:
    def target_id(self, entity: str, key: str) -> str:
        return key

    def record(self, entity: str, key: str) -> None:
        return None

    def mapped(self, entity: str) -> bool:
        return False


def open_csv(folder: Path, **options: object) -> Connector:
    return PluginRegistry().open("csv", {"location": str(folder), **options})


def write(folder: Path, records: Sequence[Record], operation: Operation = Operation.CREATE) -> None:
    connector = open_csv(folder)
    connector.begin(RUN)
    by_entity: dict[str, list[Record]] = {}
    for record in records:
        by_entity.setdefault(record.entity, []).append(record)
    for entity, items in by_entity.items():
        requests = [
            LoadRequest(record=r, operation=operation, idempotency_key="k", target_id=r.key)
            for r in items
        ]
        connector.load(entity, requests, _Identity())
    connector.finish(RUN, True)


def read(folder: Path, entity: str, **options: object) -> list[Record | Rejected]:
    return list(open_csv(folder, **options).extract(entity))


def test_the_example_company_round_trips_exactly(tmp_path: Path) -> None:
    records = [r for rs in company().values() for r in rs]
    write(tmp_path, records)
    for entity in ENTITY_ORDER:
        expected = {r.key: fingerprint(r) for r in records if r.entity == entity}
        got = {r.key: fingerprint(r) for r in read(tmp_path, entity)}  # type: ignore[union-attr]
        assert got == expected, entity


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ANY_RECORD, min_size=1, max_size=6, unique_by=lambda r: (r.entity, r.key)))
def test_any_records_round_trip_through_csv(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record]
) -> None:
    folder = tmp_path_factory.mktemp("csv")
    write(folder, records)
    for entity in {r.entity for r in records}:
        got = read(folder, entity)
        assert all(not isinstance(r, Rejected) for r in got), got
        expected = [r for r in records if r.entity == entity]
        assert sorted(got, key=lambda r: r.key) == sorted(expected, key=lambda r: r.key)


def _hand_written(
    folder: Path, text: str, name: str = "invoices.csv", encoding: str = "utf-8"
) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


HEADER = (
    "key,kind,number,contact,date,"
    "line_account,line_tax_rate,line_net,line_tax,line_base_net,line_base_tax"
)


def test_semicolons_decimal_commas_and_a_bom_are_read(tmp_path: Path) -> None:
    text = (
        HEADER.replace(",", ";")
        + "\n1;sales;INV-1;c;2024-01-31;4000;T1;1.234,50;246,90;1234,50;246,90\n"
    )
    _hand_written(tmp_path, "\ufeff" + text)
    [invoice] = read(tmp_path, "invoices")
    assert invoice.lines[0].net == D("1234.50")  # type: ignore[union-attr]
    assert invoice.lines[0].tax == D("246.90")  # type: ignore[union-attr]


def test_uk_dates_when_asked(tmp_path: Path) -> None:
    _hand_written(tmp_path, HEADER + "\n1,sales,INV-1,c,31/01/2024,4000,T1,10.00,2.00,10.00,2.00\n")
    [invoice] = read(tmp_path, "invoices", dates="uk")
    assert invoice.date.isoformat() == "2024-01-31"  # type: ignore[union-attr]
    [rejected] = read(tmp_path, "invoices")
    assert isinstance(rejected, Rejected)
    assert rejected.pointer == "invoices.csv:2"
    assert "column date" in rejected.message


def test_several_lines_of_one_document_are_one_record(tmp_path: Path) -> None:
    _hand_written(
        tmp_path,
        HEADER
        + "\n1,sales,INV-1,c,2024-01-31,4000,T1,10.00,2.00,10.00,2.00"
        + "\n1,sales,INV-1,c,2024-01-31,4010,T0,5.00,0.00,5.00,0.00\n",
    )
    [invoice] = read(tmp_path, "invoices")
    assert invoice.gross == D("17.00")  # type: ignore[union-attr]


def test_rows_of_a_record_must_agree_and_stay_together(tmp_path: Path) -> None:
    _hand_written(
        tmp_path,
        HEADER
        + "\n1,sales,INV-1,c,2024-01-31,4000,T1,10.00,2.00,10.00,2.00"
        + "\n1,sales,INV-2,c,2024-01-31,4010,T0,5.00,0.00,5.00,0.00\n",
    )
    [rejected] = read(tmp_path, "invoices")
    assert isinstance(rejected, Rejected) and "column number differs" in rejected.message
    _hand_written(
        tmp_path,
        HEADER
        + "\n1,sales,INV-1,c,2024-01-31,4000,T1,10.00,2.00,10.00,2.00"
        + "\n2,sales,INV-2,c,2024-01-31,4000,T1,10.00,2.00,10.00,2.00"
        + "\n1,sales,INV-1,c,2024-01-31,4010,T0,5.00,0.00,5.00,0.00\n",
    )
    with pytest.raises(SourceError, match="not together"):
        read(tmp_path, "invoices")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("key,kind\n1,sales\n", "lacks the column"),
        (HEADER + "\n1,sales,INV-1,c,2024-01-31,4000,T1,ten,2.00,10.00,2.00\n", "not an amount"),
        (HEADER + "\n1,refund,INV-1,c,2024-01-31,4000,T1,10,2.00,10.00,2.00\n", "not one of sales"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    _hand_written(tmp_path, content)
    if content[:9] == "key,kind\n":
        with pytest.raises(SourceError, match=message):
            read(tmp_path, "invoices")
        return
    items = read(tmp_path, "invoices")
    assert any(isinstance(i, Rejected) and message in i.message for i in items), items


def test_a_file_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    _hand_written(
        tmp_path, HEADER + "\n1,sales,Café,c,2024-01-31,4000,T1,1,0,1,0\n", encoding="cp1252"
    )
    with pytest.raises(SourceError, match="not UTF-8"):
        read(tmp_path, "invoices")


def test_validate_reports_broken_references(tmp_path: Path) -> None:
    write(tmp_path, [sales_invoice("1")])
    findings = list(open_csv(tmp_path).validate())
    assert {f.code for f in findings} == {"UNKNOWN_REFERENCE"}


def test_a_folder_written_by_something_else_is_not_appended_to(tmp_path: Path) -> None:
    _hand_written(tmp_path, HEADER + "\n")
    connector = open_csv(tmp_path)
    with pytest.raises(StateError, match="did not write"):
        connector.begin(RUN)


def test_a_torn_batch_is_cut_away_when_the_folder_opens_again(tmp_path: Path) -> None:
    write(tmp_path, [sales_invoice("1")])
    committed = (tmp_path / "invoices.csv").read_bytes()
    with (tmp_path / "invoices.csv").open("ab") as handle:
        handle.write(b"2,sales,INV-2,customer:ACME,2024-04-0")  # a crash mid-row
    write(tmp_path, [sales_invoice("3")])
    keys = [r.key for r in read(tmp_path, "invoices")]
    assert keys == ["1", "3"]
    assert (tmp_path / "invoices.csv").read_bytes().startswith(committed)


def test_updates_and_removals_rewrite_the_files(tmp_path: Path) -> None:
    records = company()
    write(tmp_path, [r for rs in records.values() for r in rs])
    payment = records["payments"][0]
    fewer = attrs.evolve(payment, allocations=payment.allocations[:1])
    write(tmp_path, [fewer], Operation.UPDATE)
    [back] = [r for r in read(tmp_path, "payments") if r.key == payment.key]
    assert back == fewer
    allocations = (tmp_path / "allocations.csv").read_text().count(f"payments,{payment.key},")
    assert allocations == 1

    connector = open_csv(tmp_path)
    connector.begin(RUN)
    connector.remove(
        "invoices", [RemovalRequest(key="10", target_id="10", actions=(Removal.DELETE,))]
    )
    connector.finish(RUN, True)
    assert "10" not in {r.key for r in read(tmp_path, "invoices")}
    state = json.loads((tmp_path / CHECKPOINT).read_text())
    assert state["sizes"]["invoices"] == (tmp_path / "invoices.csv").stat().st_size


def test_resume_finds_what_a_killed_run_committed(tmp_path: Path) -> None:
    write(tmp_path, [sales_invoice("1")])
    connector = open_csv(tmp_path)
    connector.begin(RUN)
    request = LoadRequest(
        record=sales_invoice("1"), operation=Operation.CREATE, idempotency_key="k"
    )
    assert connector.find_existing("invoices", request, _Identity()) == "1"
    other = attrs.evolve(request, record=sales_invoice("2"))
    assert connector.find_existing("invoices", other, _Identity()) is None
