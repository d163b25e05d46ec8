"""A full run killed with SIGKILL at random points, resumed each time, ends as a clean run does.

The run is a real ``migrationkit migrate`` subprocess (Sage 50 export to CSV, small batches so a
kill lands between many commits). After every kill the same command runs again and resumes;
at the end the target must hold exactly what an uninterrupted run writes: every record once,
with the same content.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrationkit import ENTITY_ORDER, PluginRegistry, Rejected, fingerprint
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate

KILLS = 12

# A csv target that commits each batch, then takes a while to answer: like an API whose response
# is slow or lost, it makes "written on the target, outcome not yet recorded" a wide window that
# random kills actually land in. Installed for the subprocess through PYTHONPATH.
SLOW_PLUGIN = """
import time
from migrationkit import ConnectorInfo, hookimpl
from migrationkit.connectors.csv.connector import CsvConnector
from migrationkit.connectors.csv.options import CsvOptions
from migrationkit.connectors.csv.plugin import CAPABILITIES

class SlowCsv(CsvConnector):
    @hookimpl
    def migrationkit_load(self, entity, requests, refs):
        results = CsvConnector.migrationkit_load(self, entity, requests, refs)
        time.sleep(0.02)
        return results

@hookimpl
def migrationkit_register_connectors(register):
    register(ConnectorInfo(name="slowcsv", summary="csv, slow to answer",
                           factory=SlowCsv, options=CsvOptions,
                           capabilities=CAPABILITIES))
"""


def _install_slow_plugin(site: Path) -> None:
    site.mkdir()
    (site / "slowcsv_plugin.py").write_text(SLOW_PLUGIN)
    info = site / "slowcsv_plugin-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slowcsv-plugin\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[migrationkit]\nslowcsv = slowcsv_plugin\n")


def _command(source: Path, target: Path, state: Path, config: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "migrationkit",
        "--quiet",
        "--state",
        str(state),
        "--config",
        str(config),
        "migrate",
        f"sage50-json:{source}",
        f"slowcsv:{target}",
        "--skip-validation",
        "--report-dir",
        str(state.parent / "reports"),
    ]


def _size(folder: Path) -> int:
    """Bytes written so far under ``folder``."""
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _snapshot(folder: Path) -> dict[str, dict[str, str]]:
    """Every record in the folder as key -> fingerprint; a doubled key fails the read."""
    connector = PluginRegistry().open("csv", {"location": str(folder)})
    held: dict[str, dict[str, str]] = {}
    for entity in ENTITY_ORDER:
        records = held.setdefault(entity, {})
        for record in connector.extract(entity):
            assert not isinstance(record, Rejected), record
            assert record.key not in records, f"{entity} {record.key} is there twice"
            records[record.key] = fingerprint(record)
    return held


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_matches_a_clean_run(tmp_path: Path) -> None:
    source = tmp_path / "company.json"
    generate(source, GeneratorOptions(seed=11, transactions=4000))
    config = tmp_path / "run.toml"
    config.write_text("[migration]\nbatch_size = 25\n")
    _install_slow_plugin(tmp_path / "site")
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
    }

    clean = tmp_path / "clean"
    clean_state = tmp_path / "clean-state" / "s.db"
    started = time.monotonic()
    subprocess.run(_command(source, clean, clean_state, config), check=True, env=env)
    whole = time.monotonic() - started
    started = time.monotonic()
    subprocess.run(_command(source, clean, clean_state, config), check=True, env=env)
    idle = time.monotonic() - started  # start-up, extraction and comparison, nothing to write
    expected = _snapshot(clean)

    target = tmp_path / "killed"
    state = tmp_path / "killed-state" / "s.db"
    rng = random.Random(20261122)
    killed = attempts = 0
    while killed < KILLS and attempts < 200:
        attempts += 1
        before = _size(target)
        process = subprocess.Popen(
            _command(source, target, state, config),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if attempts % 5 == 0:
            # Now and then, while the run starts, re-reads the source and resolves intents.
            time.sleep(rng.uniform(0.05, idle))
        else:
            # Mostly a moment after it starts writing, so each attempt gets a little further.
            deadline = time.monotonic() + idle + whole
            while process.poll() is None and _size(target) <= before:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.12))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        elif process.wait() == 0:
            break  # the run finished between two kills
        process.wait()
    final = subprocess.run(
        _command(source, target, state, config), env=env, capture_output=True, text=True
    )
    assert final.returncode == 0, final.stderr
    # Most kills must land mid-run (a few may find the run between batches and finished).
    assert killed >= KILLS - KILLS // 6, f"only {killed} kills landed before the run finished"
    assert _snapshot(target) == expected
