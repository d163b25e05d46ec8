"""Writing the folder: rows appended durably per batch, changes applied in place at the end.

Each data file has a *row index* beside it (``.migrationkit-csv-index/<name>.tsv``): one line
per record, ``entity, key, offset, length`` of the record's rows in the file, written with the
rows and committed with them. Updates and removals are logged during the run
(``.migrationkit-csv-changes``) and applied when the run ends: an updated record's new rows take
the place of its old ones, a removed record's rows go, records created by the run stay after
the others of their entity. The file is put together from byte ranges (the kernel copies the
unchanged stretches; no row is parsed), so applying N changes costs N records' work, and the
folder reads as a full run of the same source would have written it.

Applying changes is atomic: every new file is written beside the old one, a swap marker is
written, then the files are renamed over the old ones; a run killed in between finishes the
swap when the folder opens again.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from migrationkit.core.errors import SourceError, StateError
from migrationkit.core.model import ENTITY_ORDER, Record

from .codec import ALLOCATION_COLUMNS, EntityCodec, codec_for

__all__ = ["ALLOCATIONS", "CHANGES", "CHECKPOINT", "INDEX_DIR", "RawRows", "Writer"]

CHECKPOINT = ".migrationkit-csv.json"
CHANGES = ".migrationkit-csv-changes"
SWAP = ".migrationkit-csv-swap"
INDEX_DIR = ".migrationkit-csv-index"
ALLOCATIONS = "allocations"
DATA_FILES = (*ENTITY_ORDER, ALLOCATIONS)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BLOCK = 1 << 20

Span = tuple[int, int]  # offset and length of one record's rows in a file
Owner = tuple[bytes, bytes]  # entity and key as a row index holds them


def _escape(text: str) -> str:
    return (
        text.translate(_ESCAPES)
        if ("\\" in text or "\t" in text or "\n" in text or "\r" in text)
        else text
    )


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, escaped = [], False
    for char in text:
        if escaped:
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(char, char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


class Writer:
    """Appends rows durably, with their row index, and applies changes at the end of the run."""

    def __init__(self, root: Path, *, delimiter: str, bom: bool) -> None:
        self.root = root
        self.delimiter = delimiter
        self.bom = bom
        root.mkdir(parents=True, exist_ok=True)
        self._checkpoint_path = root / CHECKPOINT
        self._handles: dict[str, IO[bytes]] = {}
        self._indexes: dict[str, IO[bytes]] = {}
        self._sizes: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._keys: dict[str, set[str]] = {}
        self._run_start: dict[str, int] = {}
        # Where this run's entries begin in each row index (-1: not known, found by offset).
        self._index_start: dict[str, int] = {}
        self._recover()
        self._mark_run_start()
        self._write_checkpoint()

    def _mark_run_start(self) -> None:
        self._run_start = {name: self._size(name) for name in DATA_FILES}
        self._index_start = {name: self._index_size(name) for name in DATA_FILES}

    # -- paths and sizes -------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.root / (CHANGES if name == CHANGES else f"{name}.csv")

    def _index_path(self, name: str) -> Path:
        return self.root / INDEX_DIR / f"{name}.tsv"

    def _size(self, name: str) -> int:
        path = self._path(name)
        return path.stat().st_size if path.exists() else 0

    def _index_size(self, name: str) -> int:
        path = self._index_path(name)
        return path.stat().st_size if path.exists() else 0

    # -- durability ------------------------------------------------------------------------------

    def _recover(self) -> None:
        existing = [name for name in DATA_FILES if self._path(name).exists()]
        if not self._checkpoint_path.exists():
            if existing:
                raise StateError(
                    f"{self.root} already holds CSV files that migrationkit did not write "
                    f"({', '.join(n + '.csv' for n in existing[:3])}); choose an empty folder"
                )
            return
        try:
            state = json.loads(self._checkpoint_path.read_text("utf-8"))
            sizes = state["sizes"]
            indexed = state.get("indexes", {})
            self._run_start = {k: int(v) for k, v in state.get("run_start", {}).items()}
            self._index_start = {k: int(v) for k, v in state.get("index_start", {}).items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{self._checkpoint_path} is damaged: {exc}") from None
        if self._finish_swap():
            return
        for name in DATA_FILES:
            for stale in (self._path(name).with_suffix(".csv.tmp"), self._tmp_index(name)):
                stale.unlink(missing_ok=True)
        # Cut away whatever a crashed run wrote after its last commit.
        for name in [*DATA_FILES, CHANGES]:
            _truncate(self._path(name), int(sizes.get(name, 0)), drop_empty=True)
        for name in DATA_FILES:
            _truncate(self._index_path(name), int(indexed.get(name, 0)), drop_empty=False)
        if self._size(CHANGES):
            # A run ended before applying its updates and removals: apply them now.
            self._compact()

    def _write_checkpoint(self) -> None:
        state = {
            "format": "migrationkit-csv",
            "version": 2,
            "sizes": {name: self._size(name) for name in [*DATA_FILES, CHANGES]},
            "indexes": {name: self._index_size(name) for name in DATA_FILES},
            "run_start": self._run_start,
            "index_start": self._index_start,
        }
        tmp = self._checkpoint_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._checkpoint_path)
        _fsync_dir(self.root)

    def commit(self) -> None:
        """Make everything written so far durable, then record it as committed."""
        for name in self._dirty:
            for handle in (self._handles.get(name), self._indexes.get(name)):
                if handle is not None:
                    handle.flush()
                    os.fsync(handle.fileno())
        if self._dirty:
            self._dirty.clear()
            self._write_checkpoint()

    # -- writing -------------------------------------------------------------------------------

    def _handle(self, name: str, header: Sequence[str]) -> IO[bytes]:
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        path = self._path(name)
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh:
            with path.open("r", encoding="utf-8-sig", newline="") as existing:
                found = next(csv.reader(existing, delimiter=self.delimiter), [])
            if found != list(header):
                raise StateError(
                    f"{path} has other columns than migrationkit writes for it; "
                    "was it edited or written by another version?"
                )
        handle = path.open("ab")
        self._sizes[name] = self._size(name)
        if fresh:
            text = io.StringIO()
            if self.bom:
                text.write("\ufeff")
            csv.writer(text, delimiter=self.delimiter).writerow(header)
            self._append(name, handle, text.getvalue().encode("utf-8"))
        index_path = self._index_path(name)
        index_path.parent.mkdir(exist_ok=True)
        if not fresh and not index_path.exists():
            self._rebuild_index(name)
        self._indexes[name] = index_path.open("ab")
        self._handles[name] = handle
        return handle

    def _append(self, name: str, handle: IO[bytes], data: bytes) -> int:
        """Append ``data``; return the offset it starts at."""
        start = self._sizes[name]
        handle.write(data)
        self._sizes[name] = start + len(data)
        self._dirty.add(name)
        return start

    def _write_rows(
        self, name: str, header: Sequence[str], groups: list[tuple[str, str, list[list[str]]]]
    ) -> None:
        """Append each ``(entity, key, rows)`` group, and its span to the row index."""
        if not groups:
            return
        handle = self._handle(name, header)
        buffer = io.StringIO()
        rows = csv.writer(buffer, delimiter=self.delimiter)
        ends = []
        for _entity, _key, cells in groups:
            rows.writerows(cells)
            ends.append(buffer.tell())
        text = buffer.getvalue()
        data = text.encode("utf-8")
        if len(data) != len(text):  # not ASCII: character offsets are not byte offsets
            in_chars, ends, at, before = ends, [], 0, 0
            for end in in_chars:
                at += len(text[before:end].encode("utf-8"))
                ends.append(at)
                before = end
        start = self._append(name, handle, data)
        lines = []
        previous = 0
        for (entity, key, _cells), end in zip(groups, ends, strict=True):
            lines.append(f"{entity}\t{_escape(key)}\t{start + previous}\t{end - previous}\n")
            previous = end
        self._indexes[name].write("".join(lines).encode("utf-8"))

    def write(
        self,
        entity: str,
        codec: EntityCodec,
        records: Sequence[Record],
        *,
        updated: Sequence[str] = (),
    ) -> None:
        """Append the rows of ``records`` (one batch, encoded together) and log the updates."""
        encode = codec.rows
        self._write_rows(
            entity, codec.header, [(entity, record.key, encode(record)) for record in records]
        )
        if codec.has_allocations:
            groups = []
            for record in records:
                cells = codec.allocation_rows(record)
                if cells:
                    groups.append((entity, record.key, cells))
            self._write_rows(ALLOCATIONS, ALLOCATION_COLUMNS, groups)
        for key in updated:
            self._log_change("U", entity, key)
        if entity in self._keys:
            self._keys[entity].update(record.key for record in records)

    def remove(self, entity: str, key: str) -> None:
        self._log_change("D", entity, key)
        if entity in self._keys:
            self._keys[entity].discard(key)

    def _log_change(self, kind: str, entity: str, key: str) -> None:
        handle = self._handles.get(CHANGES)
        if handle is None:
            handle = self._handles[CHANGES] = self._path(CHANGES).open("ab")
        handle.write((json.dumps([kind, entity, key], ensure_ascii=False) + "\n").encode())
        self._dirty.add(CHANGES)

    def holds(self, entity: str, key: str) -> bool:
        """Whether the committed files hold ``key`` (asked only when resuming)."""
        if entity not in self._keys:
            self._keys[entity] = {k for _e, k, _span in self._index(entity)}
        return key in self._keys[entity]

    def close(self) -> None:
        self.commit()
        for handle in [*self._handles.values(), *self._indexes.values()]:
            handle.close()
        self._handles.clear()
        self._indexes.clear()
        if self._size(CHANGES) or self._allocations_behind():
            self._compact()

    def _allocations_behind(self) -> bool:
        """Whether this run added allocation rows after rows of earlier runs.

        The allocations of each entity stay together, in load order, as a full run writes
        them; rows a later run adds must join their entity's.
        """
        if not self._path(ALLOCATIONS).exists():
            return False
        start = self._run_start.get(ALLOCATIONS, 0)
        body = RawRows(self._path(ALLOCATIONS), self.delimiter).body_offset()
        return start > body and self._size(ALLOCATIONS) > start

    # -- the row index ---------------------------------------------------------------------------

    def _index(self, name: str) -> Iterator[tuple[str, str, Span]]:
        """``(entity, key, span)`` of every record in file ``name``, in file order."""
        for entity, key, start, length in self._entries(name):
            yield entity.decode("utf-8"), _unescape(key.decode("utf-8")), (start, length)

    def _entries(
        self, name: str, begin: int = 0, end: int | None = None
    ) -> Iterator[tuple[bytes, bytes, int, int]]:
        """The row index of ``name`` between two offsets of the index, as it is stored."""
        path = self._ensure_index(name)
        if not path.exists():
            return
        with path.open("rb") as handle:
            handle.seek(begin)
            left = -1 if end is None else end - begin
            for line in handle:
                if left >= 0:
                    if left == 0:
                        break
                    left -= len(line)
                entity, key, start, length = line.split(b"\t")
                yield entity, key, int(start), int(length)

    def _ensure_index(self, name: str) -> Path:
        """The path of ``name``'s row index, rebuilt first if it does not match the file."""
        for handle in [*self._handles.values(), *self._indexes.values()]:
            handle.flush()
        if self._path(name).exists() and not self._index_complete(name):
            self._rebuild_index(name)
        return self._index_path(name)

    def _boundary(self, name: str) -> int:
        """The offset in ``name``'s row index where this run's entries begin."""
        path = self._ensure_index(name)
        known = self._index_start.get(name, 0)
        if known >= 0:
            return known
        start = self._run_start.get(name, 0)
        at = 0
        if not path.exists():
            return at
        with path.open("rb") as handle:
            for line in handle:
                if int(line.split(b"\t")[2]) >= start:
                    break
                at += len(line)
        self._index_start[name] = at
        return at

    def _index_complete(self, name: str) -> bool:
        """Whether the row index ends where the file ends (it was written with the file)."""
        path = self._index_path(name)
        size = self._size(name)
        if not path.exists():
            return False
        last = _last_line(path)
        if last is None:
            return RawRows(self._path(name), self.delimiter).body_offset() == size
        _entity, _key, start, length = last.decode("utf-8").rstrip("\n").split("\t")
        return int(start) + int(length) == size

    def _rebuild_index(self, name: str) -> None:
        """Index a file written without one (an older version), reading its rows once."""
        rows = RawRows(self._path(name), self.delimiter)
        header = rows.header()
        lines = []
        if header is not None:
            key_at = header.index("key")
            entity_at = header.index("entity") if name == ALLOCATIONS else -1
            for (entity, key), start, raw in rows.groups(
                rows.body_start,
                None,
                lambda f: (f[entity_at] if entity_at >= 0 else name, f[key_at]),
            ):
                lines.append(f"{entity}\t{_escape(key)}\t{start}\t{len(raw)}\n")
        path = self._index_path(name)
        path.parent.mkdir(exist_ok=True)
        tmp = self._tmp_index(name)
        tmp.write_bytes("".join(lines).encode("utf-8"))
        os.replace(tmp, path)
        self._index_start[name] = -1

    def _tmp_index(self, name: str) -> Path:
        return self._index_path(name).with_suffix(".tsv.tmp")

    # -- applying changes ------------------------------------------------------------------------

    def _compact(self) -> None:
        """Apply logged updates and removals: updated rows in place, removed rows gone."""
        updated: set[Owner] = set()
        removed: set[Owner] = set()
        changes = self._path(CHANGES)
        with changes.open("r", encoding="utf-8") if changes.exists() else io.StringIO() as handle:
            for line in handle:
                kind, entity, key = json.loads(line)
                # As the row index holds them, so that its lines need no decoding.
                owner = (entity.encode(), _escape(key).encode("utf-8"))
                if kind == "U":
                    updated.add(owner)
                    removed.discard(owner)
                else:
                    removed.add(owner)
        touched = {entity.decode() for entity, _ in updated | removed}
        allocating = [e for e in ENTITY_ORDER if codec_for(e).has_allocations]
        names = [e for e in ENTITY_ORDER if e in touched and self._path(e).exists()]
        wrote_allocations = self._size(ALLOCATIONS) > self._run_start.get(ALLOCATIONS, 0)
        if self._path(ALLOCATIONS).exists() and (
            wrote_allocations or any(e in allocating for e in touched)
        ):
            names.append(ALLOCATIONS)
        for name in names:
            if name == ALLOCATIONS:
                self._assemble_allocations(allocating, updated, removed)
            else:
                self._assemble_entity(name, updated, removed)
        self._swap(names)

    def _assemble_entity(self, entity: str, updated: set[Owner], removed: set[Owner]) -> None:
        """Write ``entity``'s file as it ends beside the old one, with its row index.

        Records from before this run keep their places (an updated one takes its new rows
        there); records this run created follow, each at its last write (a resumed run may
        have written one twice). Only this run's entries are held in memory; the loop over
        the others is kept tight, as it runs once per record.
        """
        own = entity.encode()
        boundary = self._boundary(entity)
        tail = [(key, start, length) for _e, key, start, length in self._entries(entity, boundary)]
        last = {key: n for n, (key, _start, _length) in enumerate(tail)}
        gone = {key for owner, key in removed if owner == own}
        renewed = {key for owner, key in updated if owner == own and key in last}
        special = gone | last.keys()
        placed: set[bytes] = set()
        with self._assembly(entity) as (copy, lines, at):
            with self._index_path(entity).open("rb") as index:
                left = boundary
                for line in index:
                    if left <= 0:
                        break
                    left -= len(line)
                    _e, key, offset, size = line.split(b"\t")
                    if key in special:
                        if key in gone or key in placed:
                            continue
                        placed.add(key)
                        if key in renewed:
                            _key, start, length = tail[last[key]]
                        else:
                            start, length = int(offset), int(size)
                    else:
                        start, length = int(offset), int(size)
                    copy.span(start, length)
                    lines.append(b"%s\t%s\t%d\t%d\n" % (own, key, at, length))
                    at += length
            for n, (key, start, length) in enumerate(tail):
                if last[key] == n and key not in placed and key not in gone:
                    copy.span(start, length)
                    lines.append(b"%s\t%s\t%d\t%d\n" % (own, key, at, length))
                    at += length

    def _final_keys(
        self, entity: str, updated: set[Owner], removed: set[Owner]
    ) -> Iterator[tuple[bytes, bool]]:
        """The keys of ``entity`` in the order its file ends in, and whether each is new rows."""
        own = entity.encode()
        boundary = self._boundary(entity)
        tail = [key for _e, key, _start, _length in self._entries(entity, boundary)]
        last = {key: n for n, key in enumerate(tail)}
        placed: set[bytes] = set()
        for _e, key, _start, _length in self._entries(entity, 0, boundary):
            if (own, key) in removed or key in placed:
                continue
            if key in last:
                placed.add(key)
            yield key, key in last and (own, key) in updated
        for n, key in enumerate(tail):
            if last[key] == n and key not in placed and (own, key) not in removed:
                yield key, True

    def _assemble_allocations(
        self, allocating: list[str], updated: set[Owner], removed: set[Owner]
    ) -> None:
        """Allocation rows entity by entity in load order, each in its documents' order."""
        boundary = self._boundary(ALLOCATIONS)
        before: dict[Owner, Span] = {}
        during: dict[Owner, Span] = {}
        for owner, key, start, length in self._entries(ALLOCATIONS, 0, boundary):
            before.setdefault((owner, key), (start, length))
        for owner, key, start, length in self._entries(ALLOCATIONS, boundary):
            during[(owner, key)] = (start, length)
        with self._assembly(ALLOCATIONS) as (copy, lines, at):
            for entity in allocating:
                if not self._path(entity).exists():
                    continue
                own = entity.encode()
                for key, fresh in self._final_keys(entity, updated, removed):
                    found = (during if fresh else before).get((own, key))
                    if found is not None:
                        copy.span(*found)
                        lines.append(b"%s\t%s\t%d\t%d\n" % (own, key, at, found[1]))
                        at += found[1]

    @contextlib.contextmanager
    def _assembly(self, name: str) -> Iterator[tuple[_Copier, list[bytes], int]]:
        """A new file for ``name`` beside the old, header first; its row index lines are
        collected in the list and written when the file is complete, both synced."""
        source = self._path(name)
        body = RawRows(source, self.delimiter).body_offset()
        tmp = source.with_suffix(".csv.tmp")
        lines: list[bytes] = []
        with source.open("rb") as old, tmp.open("wb") as out:
            copy = _Copier(old, out)
            copy.span(0, body)
            yield copy, lines, body
            copy.flush()
            out.flush()
            os.fsync(out.fileno())
        with self._tmp_index(name).open("wb") as handle:
            handle.write(b"".join(lines))
            handle.flush()
            os.fsync(handle.fileno())

    def _swap(self, names: list[str]) -> None:
        marker = self.root / SWAP
        with marker.open("w", encoding="utf-8") as handle:
            json.dump(names, handle)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.root)
        self._finish_swap()

    def _finish_swap(self) -> bool:
        """Put the assembled files in place (again, after a crash); False if none were."""
        marker = self.root / SWAP
        if not marker.exists():
            return False
        for name in json.loads(marker.read_text("utf-8")):
            tmp = self._path(name).with_suffix(".csv.tmp")
            if tmp.exists():
                os.replace(tmp, self._path(name))
            if self._tmp_index(name).exists():
                os.replace(self._tmp_index(name), self._index_path(name))
        _fsync_dir(self.root)
        _fsync_dir(self.root / INDEX_DIR)
        self._path(CHANGES).unlink(missing_ok=True)
        self._mark_run_start()
        self._write_checkpoint()
        marker.unlink()
        _fsync_dir(self.root)
        self._keys.clear()
        return True


class _Copier:
    """Copies byte ranges of one file into another, joining neighbouring ranges."""

    def __init__(self, source: IO[bytes], out: IO[bytes]) -> None:
        self.source = source
        self.out = out
        self._start = 0
        self._length = 0

    def span(self, start: int, length: int) -> None:
        if self._length and self._start + self._length == start:
            self._length += length
            return
        self.flush()
        self._start, self._length = start, length

    def flush(self) -> None:
        if not self._length:
            return
        self.out.flush()
        start, left = self._start, self._length
        try:
            while left:
                done = os.copy_file_range(
                    self.source.fileno(), self.out.fileno(), left, start, None
                )
                if done == 0:
                    break
                start += done
                left -= done
        except (AttributeError, OSError):
            pass  # no kernel copy here (or across file systems): read and write below
        self.source.seek(start)
        while left:
            block = self.source.read(min(left, _COPY_BLOCK))
            if not block:
                raise StateError(f"{self.source.name} ends before a row it indexes")
            self.out.write(block)
            left -= len(block)
        self._length = 0


class RawRows:
    """The rows of a CSV file as raw bytes, with just enough parsing to know whose they are.

    A row ends at a line break outside quotes; CSV doubles quotes inside quoted fields, so a
    row is complete when it holds an even number of quote characters.
    """

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path = path
        self.delimiter = delimiter
        self.header_bytes = b""
        self.body_start = 0

    def header(self) -> list[str] | None:
        with self.path.open("rb") as handle:
            line = handle.readline()
        if not line:
            return None
        self.header_bytes = line
        self.body_start = len(line)
        try:
            text = line.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            raise SourceError(f"{self.path} is not UTF-8 text; save it as UTF-8 CSV") from None
        return next(csv.reader([text], delimiter=self.delimiter))

    def body_offset(self) -> int:
        """Where the rows begin (after the header line)."""
        self.header()
        return self.body_start

    def rows(self, begin: int, end: int | None) -> Iterator[tuple[int, bytes]]:
        with self.path.open("rb") as handle:
            handle.seek(begin)
            position = begin
            pending = b""
            started = begin
            while end is None or position < end:
                line = handle.readline()
                if not line:
                    break
                if not pending:
                    started = position
                position += len(line)
                pending += line
                if pending.count(b'"') % 2 == 0:
                    yield started, pending
                    pending = b""
            if pending:
                yield started, pending

    def groups(
        self, begin: int, end: int | None, owner: Any, width: int = 2
    ) -> Iterator[tuple[tuple[str, str], int, bytes]]:
        """Consecutive rows of one record, as ``(owner, offset, raw bytes)``.

        ``owner`` reads the first ``width`` fields of a row; only those are decoded.
        """
        current: tuple[str, str] | None = None
        chunk: list[bytes] = []
        first = begin
        delimiter = self.delimiter.encode()
        for start, raw in self.rows(begin, end):
            if not raw.strip():
                continue
            if b'"' in raw:
                fields = next(csv.reader([raw.decode("utf-8")], delimiter=self.delimiter))
            else:
                fields = [
                    part.decode("utf-8")
                    for part in raw.rstrip(b"\r\n").split(delimiter, width)[:width]
                ]
            who = owner(fields)
            if chunk and who != current:
                yield current, first, b"".join(chunk)  # type: ignore[misc]
                chunk = []
            if not chunk:
                first = start
            current = who
            chunk.append(raw)
        if chunk:
            yield current, first, b"".join(chunk)  # type: ignore[misc]


def _last_line(path: Path) -> bytes | None:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return None
        back = min(size, 4096)
        handle.seek(size - back)
        tail = handle.read(back).rstrip(b"\n")
        return tail.rsplit(b"\n", 1)[-1]


def _truncate(path: Path, committed: int, *, drop_empty: bool) -> None:
    if path.exists() and path.stat().st_size > committed:
        with path.open("r+b") as handle:
            handle.truncate(committed)
            handle.flush()
            os.fsync(handle.fileno())
    if drop_empty and committed == 0 and path.exists():
        path.unlink()


def _fsync_dir(path: Path) -> None:
    if not path.exists():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
