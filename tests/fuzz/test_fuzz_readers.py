"""Bad input never crashes: the Sage 50 JSON reader and validator, the CSV reader, the config
loader, each fed hundreds of broken inputs, end in a clean result or one of our errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.harness import FUZZ, json_values, mutated_json, mutated_text, survives
from migrationkit import ENTITY_ORDER, PluginRegistry, RunContext
from migrationkit.cli import main
from migrationkit.connectors.sage50.validation.driver import validate_file
from migrationkit.core.config import load_settings
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate

REGISTRY = PluginRegistry()


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small valid export, as parsed JSON."""
    path = tmp_path_factory.mktemp("fuzz") / "company.json"
    generate(path, GeneratorOptions(seed=7, transactions=6))
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of company written by the csv connector (a valid csv source)."""
    root = tmp_path_factory.mktemp("fuzz-csv")
    source = root / "company.json"
    generate(source, GeneratorOptions(seed=7, transactions=6))
    out = root / "csv"
    args = ["--quiet", "--state", str(root / "state.db"), "migrate", f"sage50-json:{source}"]
    main([*args, f"csv:{out}", "--report-dir", str(root / "reports")])
    assert (out / "invoices.csv").exists()
    return out


def _extract_everything(location: Path, connector: str) -> None:
    source = REGISTRY.open(connector, {"location": str(location)})
    source.begin(RunContext(run_id="fuzz", mode="full"))
    try:
        for entity in ENTITY_ORDER:
            if source.capabilities(entity).extract:
                for _ in source.extract(entity):
                    pass
    finally:
        source.finish(RunContext(run_id="fuzz", mode="full"), success=False)


def _read_sage50(path: Path) -> None:
    _extract_everything(path, "sage50-json")


def _validate_sage50(path: Path) -> None:
    findings = list(validate_file(path))
    assert all(f.code and f.message for f in findings)


# -- Sage 50 JSON ---------------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300))
def test_the_sage50_reader_survives_any_bytes(tmp_path: Path, data: bytes) -> None:
    survives(_read_sage50, tmp_path / "company.json", data)
    survives(_validate_sage50, tmp_path / "company.json", data)


@FUZZ
@given(data=st.data())
def test_the_sage50_reader_survives_a_nearly_valid_export(
    tmp_path: Path, company: Any, data: st.DataObject
) -> None:
    broken = data.draw(mutated_json(company))
    survives(_read_sage50, tmp_path / "company.json", broken)


@FUZZ
@given(data=st.data())
def test_the_sage50_validator_survives_a_nearly_valid_export(
    tmp_path: Path, company: Any, data: st.DataObject
) -> None:
    broken = data.draw(mutated_json(company))
    survives(_validate_sage50, tmp_path / "company.json", broken)


# -- CSV ------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_the_csv_reader_survives_broken_files(
    tmp_path: Path, csv_folder: Path, data: st.DataObject
) -> None:
    folder = tmp_path / "csv"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(csv_folder, folder)
    files = sorted(p for p in folder.glob("*.csv"))
    chosen = data.draw(st.sampled_from(files))
    broken = data.draw(
        st.one_of(
            mutated_text(chosen.read_bytes()),
            st.binary(max_size=200),
            st.text(alphabet=st.sampled_from(list(',;"\n\r\t=a1.-€\\')), max_size=200).map(
                str.encode
            ),
        )
    )
    survives(lambda _: _extract_everything(folder, "csv"), chosen, broken)


# -- config ---------------------------------------------------------------------------------------

_TOML_BITS = st.sampled_from(
    [
        "[source]\n", "[target]\n", "[migration]\n", "[mappings.tax_rates]\n", "[mappings]\n",
        'connector = "csv"\n', 'connector = "xero"\n', 'path = "out"\n', "sample = 20\n",
        "sample = -1\n", 'sample = "20"\n', "cutoff = 2024-06-30\n", 'cutoff = "2024-02-30"\n',
        'history_mode = "nope"\n', "preserve_ids = yes\n", 'state = 3\n', "T1 = 5\n",
        'report_dir = ["a"]\n', "retries = 1e400\n", '"" = 1\n', "a.b.c = 1\n", "[[source]]\n",
        'rate_scale = "fast"\n', "x = [1, \"a\"]\n", "= 1\n", "[\n", '"\\ud800" = 1\n',
    ]
)  # fmt: skip


def _load(path: Path) -> None:
    settings = load_settings(path)
    for spec in (settings.source, settings.target):
        if spec is not None:
            REGISTRY.open(spec.name, spec.options, origin=spec.origin)


@FUZZ
@given(bits=st.lists(_TOML_BITS, max_size=8))
def test_the_config_loader_survives_any_toml(tmp_path: Path, bits: list[str]) -> None:
    survives(_load, tmp_path / "m.toml", "".join(bits).encode())


@FUZZ
@given(data=st.binary(max_size=200))
def test_the_config_loader_survives_any_bytes(tmp_path: Path, data: bytes) -> None:
    survives(_load, tmp_path / "m.toml", data)


_KEYS = st.text(max_size=12) | st.sampled_from(
    ["connector", "path", "sample", "cutoff", "history_mode", "state", "access_token", "rate_scale"]
)


@FUZZ
@given(
    tables=st.dictionaries(
        st.sampled_from(["source", "target", "migration", "mappings", "other"]),
        st.dictionaries(
            _KEYS,
            json_values,
            max_size=4,
        ),
        max_size=4,
    )
)
def test_the_config_loader_survives_any_structure(tmp_path: Path, tables: dict[str, Any]) -> None:
    """Tables a TOML writer could produce (JSON values stand in for TOML's)."""
    import tomllib

    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            try:
                encoded = json.dumps(value)
                tomllib.loads(f"x = {encoded}")
            except (ValueError, tomllib.TOMLDecodeError):
                continue  # not a TOML value (null, a nested object as JSON)
            lines.append(f"{json.dumps(key)} = {encoded}")
    survives(_load, tmp_path / "m.toml", "\n".join(lines).encode())
