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

``[migration]`` takes the fields of :class:`~migrationkit.MigrationOptions` (their defaults
are the defaults) plus ``state``; ``[source]`` and ``[target]`` take the connector's name and
its options, which the connector's options class checks when it opens. Every table is
structured by the one converter of :mod:`migrationkit.core.convert`: a misspelled key or a
value of the wrong type is one line naming the file, the table, the key and what was expected.
Relative paths are relative to the directory the command runs in.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .convert import structure_options, unknown_key_message
from .engine import MigrationOptions
from .errors import ConfigError
from .state import DEFAULT_STATE_PATH

__all__ = ["ConnectorSpec", "Settings", "load_settings", "parse_spec"]

_SECTIONS = ("source", "target", "migration", "mappings")


@attrs.frozen
class ConnectorSpec:
    """Which connector, with which options (``location`` is the part after the colon).

    ``origin`` says where the spec came from, for messages about its options.
    """

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)
    origin: str = attrs.field(default="", eq=False)

    def __str__(self) -> str:
        where = self.options.get("location") or self.options.get("path") or ""
        return f"{self.name}:{where}" if where else self.name


def parse_spec(text: str) -> ConnectorSpec:
    """``"csv:out/"`` → ``ConnectorSpec("csv", {"location": "out/"})``."""
    name, colon, location = text.partition(":")
    if not colon or not name:
        raise ConfigError(f"{text!r} is not NAME:LOCATION (for example csv:out/)")
    return ConnectorSpec(
        name=name.strip(),
        options={"location": location} if location else {},
        origin=f"connector spec {text!r}",
    )


@attrs.frozen(kw_only=True)
class Settings:
    """A migration's settings: its connectors, its state store and its options."""

    source: ConnectorSpec | None
    target: ConnectorSpec | None
    state: str
    options: MigrationOptions

    @property
    def report_root(self) -> Path:
        """Where reports go: ``report_dir``, else ``reports/`` beside the state store."""
        if self.options.report_dir:
            return Path(self.options.report_dir)
        return Path(self.state).parent / "reports"

    def run_report_folder(self, run_id: int | str) -> Path:
        """The folder of one run's reports (the command line gives each run its own)."""
        return self.report_root / f"run-{run_id}"


def read_config(path: str | Path) -> dict[str, Any]:
    """The parsed TOML, or a one-line error naming the file and the problem."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a file") from None


def _table(config: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] {where} must be a table")
    return dict(value)


def _connector(config: Mapping[str, Any], side: str, where: str) -> ConnectorSpec | None:
    table = _table(config, side, where)
    if not table:
        return None
    name = table.pop("connector", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'[{side}] {where} needs connector = "NAME"')
    return ConnectorSpec(name=name, options=table, origin=f"[{side}] {where}")


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
    where = f"of {config_path}" if config_path else "of the settings"
    for section in config:
        if section not in _SECTIONS:
            message = unknown_key_message(section, list(_SECTIONS), f"{config_path}")
            raise ConfigError(message.replace("unknown option", "unknown section", 1))
    migration = _table(config, "migration", where)
    state_path = migration.pop("state", None)
    if state_path is not None and not isinstance(state_path, str):
        raise ConfigError(f"option 'state' in [migration] {where} must be a path (in quotes)")
    migration.update({k: v for k, v in (overrides or {}).items() if v is not None})
    mappings = _table(config, "mappings", where)
    if mappings:
        for entity, table in mappings.items():
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise ConfigError(
                    f"[mappings.{entity}] {where} must map source keys to target ids (strings)"
                )
        migration["mappings"] = mappings
    options = structure_options(MigrationOptions, migration, where=f"[migration] {where}")
    return Settings(
        source=parse_spec(source) if source else _connector(config, "source", where),
        target=parse_spec(target) if target else _connector(config, "target", where),
        state=state or state_path or str(DEFAULT_STATE_PATH),
        options=options,
    )
