"""Finding connectors and talking to them, with pluggy kept behind typed methods."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import click
import pluggy

from . import hookspecs
from .capabilities import EntityCapabilities
from .contract import (
    ConnectorInfo,
    DeferredRecord,
    Found,
    KnownDigests,
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
    RunContext,
)
from .convert import structure_options
from .errors import CapabilityError, ConfigError, UnknownConnectorError
from .findings import Finding
from .model import Record
from .redaction import remember_options

__all__ = ["ENTRY_POINT_GROUP", "Connector", "PluginRegistry"]

ENTRY_POINT_GROUP = "migrationkit"

_DISABLE_ENV = "MIGRATIONKIT_DISABLE_PLUGINS"


class PluginRegistry:
    """Loads every plugin of the ``migrationkit`` entry-point group and what they register.

    Set ``MIGRATIONKIT_DISABLE_PLUGINS`` to a comma-separated list of entry-point names to leave
    some out (useful to keep a test run hermetic).
    """

    def __init__(self, *, plugins: Iterable[object] = (), entry_points: bool = True) -> None:
        self._manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._manager.add_hookspecs(hookspecs.PluginSpecs)
        self._distributions: dict[str, importlib.metadata.Distribution | None] = {}
        disabled = {n.strip() for n in os.environ.get(_DISABLE_ENV, "").split(",") if n.strip()}
        self.broken: dict[str, str] = {}
        """Entry points that failed to load, with the reason (shown by ``connectors``)."""
        if entry_points:
            self._load_entry_points(disabled)
        for plugin in plugins:
            self._manager.register(plugin)
        self._manager.check_pending()
        self._connectors: dict[str, ConnectorInfo] | None = None

    def _load_entry_points(self, disabled: set[str]) -> None:
        # One plugin that fails to import must not take the others (or the CLI) down with it.
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in disabled or self._manager.get_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:
                self.broken[entry_point.name] = f"{type(exc).__name__}: {exc}"
                continue
            self._manager.register(plugin, name=entry_point.name)
            self._distributions[entry_point.name] = entry_point.dist

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object or module by hand (tests, embedding applications)."""
        self._manager.register(plugin, name=name)
        self._manager.check_pending()
        self._connectors = None

    @property
    def connectors(self) -> Mapping[str, ConnectorInfo]:
        """Every registered connector by name."""
        if self._connectors is None:
            found: dict[str, ConnectorInfo] = {}

            def register(info: ConnectorInfo) -> None:
                if not isinstance(info, ConnectorInfo):
                    raise ConfigError(f"a plugin registered {info!r}, which is not a ConnectorInfo")
                if info.name in found:
                    raise ConfigError(f"two plugins register a connector named {info.name!r}")
                found[info.name] = info

            self._manager.hook.migrationkit_register_connectors(register=register)
            self._connectors = dict(sorted(found.items()))
        return self._connectors

    def distribution_of(self, connector: str) -> str | None:
        """The installed distribution that provides a connector, if it came from one."""
        info = self.connectors[connector]
        module = getattr(info.factory, "__module__", "")
        for name, dist in self._distributions.items():
            plugin = self._manager.get_plugin(name)
            package = getattr(plugin, "__name__", "").rpartition(".")[0]
            if (
                dist is not None
                and package
                and (module == package or module.startswith(package + "."))
            ):
                return f"{dist.metadata['Name']} {dist.version}"
        return None

    def info(self, name: str) -> ConnectorInfo:
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(self.connectors) or "none"
            raise UnknownConnectorError(
                f"no connector named {name!r} is installed (installed: {known})"
            ) from None

    def open(
        self, name: str, options: Mapping[str, Any] | object | None = None, *, origin: str = ""
    ) -> Connector:
        """Build connector ``name`` with ``options`` and return it ready to use.

        ``options`` is a table (from a config file, a spec or a program), structured into the
        connector's options class, or an instance of that class. ``origin`` says where the
        table came from, for the message when an option is unknown or of the wrong type.
        """
        info = self.info(name)
        if isinstance(options, info.options):
            settings = options
        else:
            where = f"{origin} (connector {name})" if origin else f"the options of connector {name}"
            settings = structure_options(info.options, options or {}, where=where)  # type: ignore[arg-type]
        # Its secret options (metadata secret=True) are redacted from everything written later.
        remember_options(settings)
        return Connector(info, info.factory(settings))

    def commands(self) -> list[tuple[str, click.Command]]:
        """Every command plugins add to the command line, as ``(group, command)``."""
        found: list[tuple[str, click.Command]] = []

        def register(group: str, command: click.Command) -> None:
            found.append((group, command))

        self._manager.hook.migrationkit_register_commands(register=register)
        return found


class Connector:
    """One opened connector: the typed face of its hook implementations.

    The object the factory returned is registered in a plugin manager of its own, so its
    methods are checked against :class:`~migrationkit.core.hookspecs.ConnectorSpecs`.
    """

    def __init__(self, info: ConnectorInfo, instance: object) -> None:
        self.info = info
        self.instance = instance
        self._manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._manager.add_hookspecs(hookspecs.ConnectorSpecs)
        try:
            self._manager.register(instance, name=f"connector:{info.name}")
            self._manager.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"connector {info.name!r} breaks the hook contract: {exc}") from exc
        self._hook = self._manager.hook

    def __repr__(self) -> str:
        return f"<Connector {self.name}>"

    @property
    def name(self) -> str:
        return self.info.name

    def capabilities(self, entity: str) -> EntityCapabilities:
        """What the connector declared for ``entity`` (nothing at all when undeclared)."""
        return self.info.capabilities.get(entity, _NOTHING)

    def implements(self, hook: str) -> bool:
        return bool(getattr(self._hook, hook).get_hookimpls())

    def add_wrapper(self, plugin: object) -> None:
        """Register another plugin around this connector (hook wrappers, record transforms)."""
        self._manager.register(plugin)
        self._manager.check_pending()

    def _call(self, hook: str, **kwargs: Any) -> Any:
        result = getattr(self._hook, hook)(**kwargs)
        if result is None:
            raise CapabilityError(f"connector {self.name!r} does not implement {hook}")
        return result

    # -- both sides ---------------------------------------------------------------------------

    def identity(self) -> str:
        return str(self._call("migrationkit_identity"))

    def begin(self, run: RunContext) -> None:
        self._hook.migrationkit_begin(run=run)

    def finish(self, run: RunContext, success: bool) -> None:
        self._hook.migrationkit_finish(run=run, success=success)

    # -- source -------------------------------------------------------------------------------

    def extract(
        self,
        entity: str,
        since: dt.datetime | None = None,
        *,
        deferred: bool = False,
        known: KnownDigests | None = None,
    ) -> Iterator[Any]:
        """The records of ``entity`` (and ``Rejected`` items for what could not be read).

        With ``deferred`` a source's :class:`~migrationkit.DeferredRecord` items come through as
        they are (the engine compares their digests); otherwise they are built. With ``known``
        a source that takes it leaves out the items it confirms unchanged.
        """
        caps = self.capabilities(entity)
        if not caps.extract:
            raise CapabilityError(f"connector {self.name!r} cannot extract {entity}")
        if since is not None and not caps.modified_since:
            raise CapabilityError(
                f"connector {self.name!r} cannot list {entity} changed since a date"
            )
        items: Iterator[Any] = iter(
            self._call("migrationkit_extract", entity=entity, since=since, known=known)
        )
        if deferred:
            return items
        return (item.load() if isinstance(item, DeferredRecord) else item for item in items)

    @property
    def takes_known(self) -> bool:
        """Whether the source's ``migrationkit_extract`` takes ``known`` (a change feed)."""
        return any(
            "known" in impl.argnames for impl in self._hook.migrationkit_extract.get_hookimpls()
        )

    def extract_deleted(self, entity: str, since: dt.datetime | None = None) -> Iterator[str]:
        if not self.capabilities(entity).deletions:
            return iter(())
        return iter(self._call("migrationkit_extract_deleted", entity=entity, since=since))

    def deletions_unlisted(self, entity: str, since: dt.datetime | None) -> str | None:
        """Why the source's deleted list for ``entity`` may be incomplete, or None."""
        caps = self.capabilities(entity)
        if not (caps.deletions and caps.modified_since) or not self.implements(
            "migrationkit_deletions_unlisted"
        ):
            return None
        reason = self._hook.migrationkit_deletions_unlisted(entity=entity, since=since)
        return str(reason) if reason else None

    def snapshot(self) -> str | None:
        """The source's digest of everything it holds, or None when it offers none."""
        value = self._hook.migrationkit_snapshot()
        return str(value) if value is not None else None

    def validate(self) -> Iterator[Finding]:
        return iter(self._call("migrationkit_validate"))

    # -- target -------------------------------------------------------------------------------

    def check_record(self, entity: str, record: Record, refs: References) -> Sequence[Problem]:
        result = self._hook.migrationkit_check_record(entity=entity, record=record, refs=refs)
        return result or ()

    def load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Sequence[LoadResult]:
        results = self._call("migrationkit_load", entity=entity, requests=requests, refs=refs)
        if len(results) != len(requests):
            raise CapabilityError(
                f"connector {self.name!r} answered {len(results)} results for "
                f"{len(requests)} {entity}; it must answer one per record"
            )
        return list(results)

    def find_existing(self, entity: str, request: LoadRequest, refs: References) -> str | None:
        found = self._call("migrationkit_find_existing", entity=entity, request=request, refs=refs)
        if not isinstance(found, Found):
            raise CapabilityError(
                f"connector {self.name!r}: migrationkit_find_existing must return Found"
            )
        return found.target_id

    def remove(self, entity: str, requests: Sequence[RemovalRequest]) -> Sequence[RemovalResult]:
        results = self._call("migrationkit_remove", entity=entity, requests=requests)
        if len(results) != len(requests):
            raise CapabilityError(
                f"connector {self.name!r} answered {len(results)} removal results for "
                f"{len(requests)} {entity}"
            )
        return list(results)


_NOTHING = EntityCapabilities()
