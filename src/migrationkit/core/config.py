"""Connector specs (``NAME:LOCATION``) and TOML config files for scripted migrations.

A config file holds what the command line would otherwise carry::

    [source]
    connector = "sage50-json"
    path = "company.json"

    [target]
    connector = "csv"
    path = "out/"

    [migration]
    state = ".migrationkit/state.db"
    report_dir = "reports"
    history_mode = "full_history"   # or opening_balances, records_only
    cutoff = 2024-06-30
    sample = 20
    preserve_ids = true

    [mappings.tax_rates]
    T1 = "GB_STANDARD"

Relative paths are relative to the directory the command runs in.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .engine import HISTORY_MODES, MigrationOptions
from .errors import ConfigError
from .state import DEFAULT_STATE_PATH

__all__ = ["ConnectorSpec", "Settings", "load_settings", "parse_spec"]

_MIGRATION_KEYS = {
    "state",
    "report_dir",
    "history_mode",
    "cutoff",
    "sample",
    "seed",
    "preserve_ids",
    "validate",
    "entities",
    "batch_size",
    "reconcile",
}


@attrs.frozen
class ConnectorSpec:
    """Which connector, with which options (``location`` is the part after the colon)."""

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)

    def __str__(self) -> str:
        where = self.options.get("location") or self.options.get("path") or ""
        return f"{self.name}:{where}" if where else self.name


def parse_spec(text: str) -> ConnectorSpec:
    """``"csv:out/"`` → ``ConnectorSpec("csv", {"location": "out/"})``."""
    name, colon, location = text.partition(":")
    if not colon or not name:
        raise ConfigError(f"{text!r} is not NAME:LOCATION (for example csv:out/)")
    return ConnectorSpec(name=name.strip(), options={"location": location} if location else {})


@attrs.frozen(kw_only=True)
class Settings:
    source: ConnectorSpec | None
    target: ConnectorSpec | None
    state: str
    options: MigrationOptions


def _table(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return dict(value)


def _connector(config: Mapping[str, Any], side: str) -> ConnectorSpec | None:
    table = _table(config, side)
    if not table:
        return None
    name = table.pop("connector", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'[{side}] needs connector = "NAME"')
    return ConnectorSpec(name=name, options=table)


def read_config(path: str | Path) -> dict[str, Any]:
    """The parsed TOML, or a one-line error naming the file and the problem."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(
    config_path: str | Path | None = None,
    *,
    source: str | None = None,
    target: str | None = None,
    state: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Combine a config file (if any) with command-line values, which win."""
    config = read_config(config_path) if config_path else {}
    unknown = set(config) - {"source", "target", "migration", "mappings"}
    if unknown:
        raise ConfigError(f"unknown section(s) in the config file: {', '.join(sorted(unknown))}")
    migration = _table(config, "migration")
    bad = set(migration) - _MIGRATION_KEYS
    if bad:
        raise ConfigError(f"unknown key(s) in [migration]: {', '.join(sorted(bad))}")
    migration.update({k: v for k, v in (overrides or {}).items() if v is not None})
    mappings = _table(config, "mappings")
    for entity, table in mappings.items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ConfigError(f"[mappings.{entity}] must map source keys to target ids (strings)")
    cutoff = migration.get("cutoff")
    if isinstance(cutoff, str):
        try:
            cutoff = dt.date.fromisoformat(cutoff)
        except ValueError:
            raise ConfigError(f"cutoff {cutoff!r} is not a date (YYYY-MM-DD)") from None
    history = migration.get("history_mode", "full_history")
    if history not in HISTORY_MODES:
        raise ConfigError(f"history_mode {history!r} is not one of {', '.join(HISTORY_MODES)}")
    entities = migration.get("entities")
    try:
        options = MigrationOptions(
            sample=int(migration.get("sample", 20)),
            seed=int(migration.get("seed", 0)),
            history_mode=history,
            cutoff=cutoff,
            preserve_ids=bool(migration.get("preserve_ids", True)),
            validate=bool(migration.get("validate", True)),
            mappings={e: dict(t) for e, t in mappings.items()},
            entities=tuple(entities) if entities else None,
            batch_size=int(migration["batch_size"]) if migration.get("batch_size") else None,
            report_dir=migration.get("report_dir"),
            reconcile=bool(migration.get("reconcile", False)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[migration]: {exc}") from None
    return Settings(
        source=parse_spec(source) if source else _connector(config, "source"),
        target=parse_spec(target) if target else _connector(config, "target"),
        state=state or migration.get("state") or str(DEFAULT_STATE_PATH),
        options=options,
    )
