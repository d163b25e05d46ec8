"""What migrationkit keeps on this machine, where, and who can read it (``migrationkit doctor``).

:func:`check_storage` looks at the config file, the token stores (files, or the OS keyring),
the state store with its ``-wal``, ``-shm`` and lock files, the report folders and any
portfolio folders, and flags every file or folder that its group or other users can read,
write or enter. It only looks: nothing is changed (``chmod go= PATH`` fixes what it flags).

A config file is flagged only when it holds a secret (a secret-named option such as
``client_secret``); without one, a config readable by others is the user's choice.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from .core.config import Settings, load_settings
from .core.redaction import is_secret_key
from .http.oauth import KEYRING_SERVICE, TokenStore, keyring_backend

__all__ = ["Checkup", "Stored", "check_storage", "found_portfolios", "token_folder"]


@attrs.frozen
class Stored:
    """One thing on disk (or in the keyring) and what is wrong with it, if anything."""

    kind: str
    """``config``, ``token store``, ``keyring``, ``state store``, ``report folder``,
    ``portfolio``, or the kind of the folder a flagged file was found in."""
    path: str
    exists: bool
    mode: str | None = None
    """Permission bits in octal (``0600``), when it is a file or folder."""
    problem: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Checkup:
    """Everything :func:`check_storage` looked at."""

    items: tuple[Stored, ...]

    @property
    def problems(self) -> list[Stored]:
        return [item for item in self.items if item.problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "items": [item.to_dict() for item in self.items]}


def token_folder() -> Path:
    """Where logins keep their tokens by default (``~/.config/migrationkit/tokens``)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "migrationkit" / "tokens"


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _exposure(info: os.stat_result) -> str | None:
    """What the group and others may do with it, or None when nothing."""
    bits = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode) or not bits & 0o077:
        return None
    if bits & 0o044:
        return "readable by group or others"
    return "open to group or others (write or enter)"


def _one(kind: str, path: Path, *, detail: str = "") -> Stored:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return Stored(kind, str(path), False, detail=detail or "not there")
    return Stored(kind, str(path), True, _mode(info), _exposure(info), detail)


def _tree(kind: str, root: Path, *, skip: Sequence[Path] = ()) -> Iterator[Stored]:
    """The root, and every file or folder under it that others can reach."""
    top = _one(kind, root)
    if not top.exists:
        yield top
        return
    files = folders = 0
    exposed: list[Stored] = []
    for folder, names, filenames in os.walk(root):
        here = Path(folder)
        names[:] = [n for n in names if here / n not in skip]
        for name in (*names, *filenames):
            path = here / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # removed while we looked
            if stat.S_ISDIR(info.st_mode):
                folders += 1
            else:
                files += 1
            problem = _exposure(info)
            if problem:
                exposed.append(Stored(kind, str(path), True, _mode(info), problem))
    yield attrs.evolve(top, detail=f"{files} file(s) in {folders} folder(s) below")
    yield from exposed


def _database_files(kind: str, path: Path) -> Iterator[Stored]:
    yield _one(kind, path, detail="" if path.exists() else "not created yet")
    for suffix in ("-wal", "-shm", ".lock"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            yield _one(kind, extra)


def _config(path: Path) -> Iterator[Stored]:
    found = _one("config", path)
    if not found.exists:
        yield found
        return
    secrets: list[str] = []
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    for side in ("source", "target"):
        table = data.get(side)
        if isinstance(table, dict):
            secrets += [f"[{side}] {key}" for key in table if is_secret_key(key)]
    if secrets:
        detail = f"holds secrets: {', '.join(secrets)} (prefer environment variables)"
        yield attrs.evolve(found, detail=detail)
    else:
        yield attrs.evolve(found, problem=None, detail="holds no secret")


def _token_paths(settings: Settings | None) -> list[Path]:
    paths: set[Path] = set()
    folder = token_folder()
    if folder.is_dir():
        paths |= set(folder.glob("*.json"))
    for spec in (settings.source, settings.target) if settings else ():
        if spec is not None and isinstance(spec.options.get("token_store"), str):
            paths.add(Path(spec.options["token_store"]))
    return sorted(paths)


def _tokens(settings: Settings | None) -> Iterator[Stored]:
    backend = keyring_backend()
    if backend is None:
        yield Stored(
            "keyring", "(none)", False, detail="no OS keyring in use: tokens are kept in files"
        )
    else:
        yield Stored(
            "keyring",
            type(backend).__name__,
            True,
            detail=f"tokens are kept here (service {KEYRING_SERVICE!r})",
        )
    folder = token_folder()
    yield _one("token store", folder, detail="" if folder.exists() else "no login yet")
    for path in _token_paths(settings):
        store = TokenStore(path)
        in_keyring = False
        if store.keyring is not None:
            try:
                in_keyring = store.keyring.get_password(KEYRING_SERVICE, store.entry) is not None
            except Exception:
                in_keyring = False
        if in_keyring:
            yield Stored("token store", store.entry, True, detail="in the OS keyring")
        item = _one("token store", path)
        if item.exists or not in_keyring:
            yield item
        lock = path.with_name(path.name + ".lock")
        if lock.exists():
            yield _one("token store", lock)


def _portfolio(folder: Path) -> Iterator[Stored]:
    from .portfolio.place import DATABASE_URL_ENV, SETTINGS_FILE

    yield _one("portfolio", folder)
    yield from _tree("portfolio", folder / ".migrationkit")
    yield from _tree("portfolio", folder / "clients")
    for name in ("report.html", SETTINGS_FILE):
        if (folder / name).exists():
            yield _one("portfolio", folder / name)
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        from .core.state_postgres import display_url

        yield Stored(
            "portfolio",
            display_url(url),
            True,
            detail="client list and state stores in PostgreSQL: its roles decide who reads them",
        )


def found_portfolios(folder: str | os.PathLike[str] = ".") -> list[Path]:
    """``folder`` when it is a portfolio (it has ``.migrationkit/portfolio.db``), else none."""
    path = Path(folder)
    return [path] if (path / ".migrationkit" / "portfolio.db").exists() else []


def check_storage(
    config: str | os.PathLike[str] | None = None,
    *,
    state: str | os.PathLike[str] | None = None,
    report_dirs: Iterable[str | os.PathLike[str]] = (),
    portfolios: Iterable[str | os.PathLike[str]] = (),
) -> Checkup:
    """Look at everything migrationkit keeps for these settings, and flag what others can read.

    ``config`` and ``state`` are what the command line would use (the config file names the
    state store, the report folder and the token stores of its connectors); ``report_dirs``
    adds report folders; ``portfolios`` adds portfolio folders (each checked whole).
    """
    settings = load_settings(
        Path(config) if config is not None else None, state=str(state) if state else None
    )
    items: list[Stored] = []
    if config is not None:
        items += _config(Path(config))
    items += _tokens(settings)
    state_path = Path(settings.state)
    items += _database_files("state store", state_path)
    folders = [settings.report_root, *(Path(p) for p in report_dirs)]
    for folder in dict.fromkeys(folders):
        items += _tree("report folder", folder)
    for folder in dict.fromkeys(Path(p) for p in portfolios):
        items += _portfolio(folder)
    return Checkup(tuple(items))
