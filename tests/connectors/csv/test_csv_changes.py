"""Updates and removals land in place: the folder reads as if written in one go."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

from factories import company
from migrationkit import (
    Connector,
    LoadRequest,
    Operation,
    PluginRegistry,
    Record,
    Removal,
    RemovalRequest,
    RunContext,
)
from migrationkit.connectors.csv import writer

RUN = RunContext(run_id="1", mode="delta")


class _Identity:
    def target_id(self, entity: str, key: str) -> str:
        return key

    def record(self, entity: str, key: str) -> None:
        return None

    def mapped(self, entity: str) -> bool:
        return False


def _open(folder: Path) -> Connector:
    return PluginRegistry().open("csv", {"location": str(folder)})


def _run(
    folder: Path,
    writes: Sequence[tuple[Record, Operation]] = (),
    removals: Sequence[Record] = (),
) -> None:
    connector = _open(folder)
    connector.begin(RUN)
    for record, operation in writes:
        request = LoadRequest(
            record=record, operation=operation, idempotency_key="k", target_id=record.key
        )
        connector.load(record.entity, [request], _Identity())
    for record in removals:
        connector.remove(
            record.entity,
            [RemovalRequest(key=record.key, target_id=record.key, actions=(Removal.DELETE,))],
        )
    connector.finish(RUN, True)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def _everything() -> list[Record]:
    return [r for records in company().values() for r in records]


def _changes(records: list[Record]) -> tuple[list[Record], Record, Record, Record]:
    """The records as they end (what one run would write), with one updated (its reference
    made non-ASCII and longer), one removed and one added."""
    payment = next(r for r in records if r.entity == "payments" and r.allocations)  # type: ignore[attr-defined]
    updated = attrs.evolve(payment, reference="Überweisung Zürich, längerer Text")
    invoices = [r for r in records if r.entity == "invoices"]
    removed = invoices[1]
    added = attrs.evolve(invoices[0], key="99", number="INV-99")
    final = []
    for record in records:
        if record is removed:
            continue
        final.append(updated if record is payment else record)
        if record is invoices[-1]:
            final.append(added)
    return final, updated, removed, added


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "written-before-indexes"])
def test_changes_land_where_one_run_would_have_written_them(tmp_path: Path, indexed: bool) -> None:
    records = _everything()
    final, updated, removed, added = _changes(records)
    _run(tmp_path / "once", [(r, Operation.CREATE) for r in final])

    folder = tmp_path / "changed"
    _run(folder, [(r, Operation.CREATE) for r in records])
    if not indexed:
        shutil.rmtree(folder / writer.INDEX_DIR)  # as a version without row indexes left it
    _run(folder, [(updated, Operation.UPDATE), (added, Operation.CREATE)], [removed])
    assert _files(folder) == _files(tmp_path / "once")
    assert not (folder / writer.CHANGES).exists()

    # And again: the row indexes the changes left behind are right.
    again = attrs.evolve(updated, reference="short")
    _run(folder, [(again, Operation.UPDATE)])
    _run(tmp_path / "twice", [(again if r is updated else r, Operation.CREATE) for r in final])
    assert _files(folder) == _files(tmp_path / "twice")


def test_a_run_killed_while_swapping_files_finishes_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _everything()
    final, updated, removed, added = _changes(records)
    _run(tmp_path / "once", [(r, Operation.CREATE) for r in final])
    folder = tmp_path / "changed"
    _run(folder, [(r, Operation.CREATE) for r in records])

    def killed(self: writer.Writer) -> bool:
        if (self.root / writer.SWAP).exists():
            raise KeyboardInterrupt
        return False

    with monkeypatch.context() as patch:
        patch.setattr(writer.Writer, "_finish_swap", killed)
        with pytest.raises(KeyboardInterrupt):
            _run(folder, [(updated, Operation.UPDATE), (added, Operation.CREATE)], [removed])
    assert (folder / writer.SWAP).exists(), "killed after the new files were ready"
    _run(folder)  # the next run opens the folder
    assert not (folder / writer.SWAP).exists()
    assert _files(folder) == _files(tmp_path / "once")


def test_a_run_killed_before_applying_its_changes_applies_them_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _everything()
    final, updated, removed, added = _changes(records)
    _run(tmp_path / "once", [(r, Operation.CREATE) for r in final])
    folder = tmp_path / "changed"
    _run(folder, [(r, Operation.CREATE) for r in records])

    def killed(self: writer.Writer, names: list[str]) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(writer.Writer, "_swap", killed)
        with pytest.raises(KeyboardInterrupt):
            _run(folder, [(updated, Operation.UPDATE), (added, Operation.CREATE)], [removed])
    _run(folder)
    assert not list(folder.glob("*.tmp"))
    assert _files(folder) == _files(tmp_path / "once")
