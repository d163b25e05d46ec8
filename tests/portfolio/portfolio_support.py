"""What the portfolio tests share: fast settings, test plugins, helpers for subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from migrationkit import (
    AuthError,
    ConnectorInfo,
    DailyLimitReached,
    LoadRequest,
    LoadResult,
    PluginRegistry,
    References,
    hookimpl,
)
from migrationkit.connectors.csv.connector import CsvConnector
from migrationkit.connectors.csv.options import CsvOptions
from migrationkit.connectors.csv.plugin import CAPABILITIES
from migrationkit.portfolio import Portfolio

FAST = "[portfolio]\npoll_interval = 0.1\nrecovery_interval = 1.0\nconsent_recheck = 0.5\n"
"""Settings that keep a test quick: workers look for work and for dead workers often."""
DEFECTS = ("unknown_nominal", "over_allocation", "unbalanced_journal")


def fast_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portfolio.toml").write_text(FAST, "utf-8")
    return folder


def add_clients(
    portfolio: Portfolio, sources: Sequence[Path], out: Path, **extra: Any
) -> list[str]:
    names = []
    for n, source in enumerate(sources):
        name = f"Client {n:02d}"
        portfolio.add(name, source=f"sage50-json:{source}", target=f"csv:{out / name}", **extra)
        names.append(name)
    return names


class Trouble:
    """What the ``trouble-csv`` target raises on its next loads, by the name of its folder.

    Each is an error, or a function that makes one when it is raised (for errors that carry
    a time, such as when a spent day ends).
    """

    raises: ClassVar[dict[str, list[BaseException | Callable[[], BaseException]]]] = {}
    loads: ClassVar[int] = 0
    spools: ClassVar[list[list[Path]]] = []
    """What the temporary folder held at each load (where sources spool)."""


class TroubleCsv(CsvConnector):
    """A csv target that first raises what :class:`Trouble` holds for it, one error a load."""

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Sequence[LoadResult]:
        Trouble.loads += 1
        Trouble.spools.append(sorted(Path(tempfile.gettempdir()).iterdir()))
        waiting = Trouble.raises.get(self.root.name)
        if waiting:
            error = waiting.pop(0)
            raise error if isinstance(error, BaseException) else error()
        return CsvConnector.migrationkit_load(self, entity, requests, refs)


class TroublePlugin:
    @staticmethod
    @hookimpl
    def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
        register(
            ConnectorInfo(
                name="trouble-csv",
                summary="csv, with the errors a test gives it",
                factory=TroubleCsv,
                options=CsvOptions,
                capabilities=CAPABILITIES,
            )
        )


def day_spent(seconds: float) -> DailyLimitReached:
    resume = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return DailyLimitReached("the daily limit of 5000 calls is spent", resume_at=resume)


def consent_needed() -> AuthError:
    return AuthError("the refresh token was refused (invalid_grant): log in again", status=400)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``migrationkit`` subprocess."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}
    env.pop("MIGRATIONKIT_DATABASE_URL", None) if "MIGRATIONKIT_DATABASE_URL" not in extra else None
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "migrationkit", "--quiet", "portfolio", *args]


SLOW_PLUGIN = """
import time
from migrationkit import ConnectorInfo, hookimpl
from migrationkit.connectors.csv.connector import CsvConnector
from migrationkit.connectors.csv.options import CsvOptions
from migrationkit.connectors.csv.plugin import CAPABILITIES

class SlowCsv(CsvConnector):
    # Commits each batch, then takes a while to answer, like an API whose answer is slow:
    # a kill lands between the write and its outcome often.
    @hookimpl
    def migrationkit_load(self, entity, requests, refs):
        results = CsvConnector.migrationkit_load(self, entity, requests, refs)
        time.sleep(0.01)
        return results

@hookimpl
def migrationkit_register_connectors(register):
    register(ConnectorInfo(name="slowcsv", summary="csv, slow to answer", factory=SlowCsv,
                           options=CsvOptions, capabilities=CAPABILITIES))
"""


def install_slow_csv(site: Path) -> dict[str, str]:
    """Install the ``slowcsv`` target for subprocesses; the environment that finds it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "slowcsv_plugin.py").write_text(SLOW_PLUGIN)
    info = site / "slowcsv_plugin-0.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slowcsv-plugin\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[migrationkit]\nslowcsv = slowcsv_plugin\n")
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path}


def slow_registry(site: Path) -> PluginRegistry:
    """A registry that knows ``slowcsv`` in this process too (not through ``sys.path``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("slowcsv_plugin_here", site / "slowcsv_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return PluginRegistry(plugins=[module])
