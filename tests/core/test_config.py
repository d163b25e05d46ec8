"""Connector specs and TOML config files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from migrationkit import ConfigError, load_settings, parse_spec


def test_name_colon_location() -> None:
    spec = parse_spec("csv:out/dir")
    assert (spec.name, dict(spec.options)) == ("csv", {"location": "out/dir"})
    assert str(spec) == "csv:out/dir"
    with pytest.raises(ConfigError, match="NAME:LOCATION"):
        parse_spec("company.json")


def test_a_config_file_carries_connectors_mappings_and_options(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        """
[source]
connector = "sage50-json"
path = "company.json"

[target]
connector = "csv"
location = "out"
delimiter = ";"

[migration]
state = "s.db"
history_mode = "opening_balances"
cutoff = 2024-06-30
sample = 5

[mappings.tax_rates]
T1 = "GB_STANDARD"
"""
    )
    settings = load_settings(path)
    assert settings.source is not None and settings.source.name == "sage50-json"
    assert settings.target is not None and dict(settings.target.options) == {
        "location": "out",
        "delimiter": ";",
    }
    assert settings.state == "s.db"
    assert settings.options.history_mode == "opening_balances"
    assert settings.options.cutoff == dt.date(2024, 6, 30)
    assert settings.options.sample == 5
    assert settings.options.mappings == {"tax_rates": {"T1": "GB_STANDARD"}}
    overridden = load_settings(path, target="csv:elsewhere", overrides={"sample": 7})
    assert overridden.target is not None and overridden.target.options == {"location": "elsewhere"}
    assert overridden.options.sample == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[migrate]\n", r"unknown section 'migrate' in .*; did you mean 'migration'\?"),
        (
            "[migration]\nsampel = 3\n",
            r"unknown option 'sampel' in \[migration\] of .*m\.toml; did you mean 'sample'\?",
        ),
        ("[migration]\nhistory_mode = 'everything'\n", "history_mode"),
        ("[migration]\ncutoff = 'soon'\n", r"option 'cutoff' in \[migration\] .* must be a date"),
        (
            "[migration]\nsample = 'twenty'\n",
            r"option 'sample' in \[migration\] .* must be an integer",
        ),
        ("[source]\npath = 'x'\n", "needs connector"),
        ("[mappings.tax_rates]\nT1 = 3\n", "must map"),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_config_mistakes_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
