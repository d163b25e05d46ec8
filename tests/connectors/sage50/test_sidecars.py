"""The validator passes the generator's expected-findings sidecars.

The sidecar format and what passing means are in docs/formats/sage50-json.md §12.

A validator passes a sidecar when every primary code is reported at its header or pointer,
every error code it reports is a primary code or in ``may_also_report``, and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrationkit.connectors.sage50.validation import validate_file
from migrationkit.testing.generators.sage50 import (
    DEFECT_KINDS,
    GeneratorOptions,
    generate,
)


def _check(path: Path) -> None:
    sidecar = json.loads(Path(f"{path}.expected.json").read_text("utf-8"))
    findings = [f for f in validate_file(path) if f.is_error]
    allowed = set(sidecar["expected_codes"])
    for defect in sidecar["defects"]:
        allowed |= set(defect["may_also_report"])
        hits = [
            f
            for f in findings
            if f.code == defect["code"]
            and (
                f.header_number == defect["header_number"]
                or f.pointer.startswith(defect["pointer"])
            )
        ]
        assert hits, f"{defect['kind']}: {defect['code']} not reported at {defect['pointer']}"
    stray = sorted({f.code for f in findings} - allowed)
    assert not stray, f"reported codes the sidecar does not allow: {stray}"


@pytest.mark.parametrize("kind", sorted(DEFECT_KINDS))
@pytest.mark.parametrize("seed", [3, 17])
def test_each_defect_alone(tmp_path: Path, kind: str, seed: int) -> None:
    path = tmp_path / "broken.json"
    generate(path, GeneratorOptions(seed=seed, transactions=600, defects=(kind,)))
    _check(path)


def test_every_defect_together(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    generate(path, GeneratorOptions(seed=5, transactions=900, defects=tuple(sorted(DEFECT_KINDS))))
    _check(path)


@pytest.mark.parametrize("mode", ["full_history", "opening_balances", "records_only"])
def test_a_generated_company_has_no_findings_at_all(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "company.json"
    generate(path, GeneratorOptions(seed=8, transactions=700, history_mode=mode))
    assert list(validate_file(path)) == []
