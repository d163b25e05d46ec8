"""Fixtures for the sage50-json validator tests: a valid company and a way to validate it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from migrationkit.connectors.sage50 import validation
from migrationkit.connectors.sage50.validation import RULES
from migrationkit.connectors.sage50.validation.reading import FastTrailScan
from migrationkit.connectors.sage50.validation.trail import Trail
from migrationkit.core.findings import Finding


def _load_builders() -> ModuleType:
    # Imported under a name of its own: other connectors' test folders may have a builders.py
    # too, and without __init__.py files a plain "import builders" could find theirs.
    name = "sage50_validator_builders"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("builders.py"))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


builders = _load_builders()


@pytest.fixture
def doc() -> dict[str, Any]:
    """A fresh valid document; tests mutate it to break one invariant."""
    return builders.valid_document()  # type: ignore[no-any-return]


@pytest.fixture
def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[Finding]]:
    """Write a document (or raw bytes) and validate it, once per checking path.

    The trail checker has a fast lane for typical headers and a full path for the rest, and the
    trail is read by a quick scan or by the stream parser; each must report exactly the same
    findings, so every test proves that as a side effect.  Every
    finding must also be a registered rule, with the rule's severity.
    """
    counter = iter(range(1_000_000))

    def run(
        document: Any = None, *, raw: bytes | None = None, **dump_options: Any
    ) -> list[Finding]:
        path = tmp_path / f"export-{next(counter)}.json"
        if raw is not None:
            path.write_bytes(raw)
        else:
            builders.write(document, path, **dump_options)
        fast = list(validation.validate_file(path))
        monkeypatch.setattr(Trail, "fast_lane", False)
        try:
            full = list(validation.validate_file(path))
        finally:
            monkeypatch.setattr(Trail, "fast_lane", True)
        assert fast == full, "the fast lane and the full path disagree"
        monkeypatch.setattr(FastTrailScan, "enabled", False)
        try:
            streamed = list(validation.validate_file(path))
        finally:
            monkeypatch.setattr(FastTrailScan, "enabled", True)
        assert fast == streamed, "the quick trail scan and the stream parser disagree"
        for finding in fast:
            assert finding.code in RULES, f"{finding.code} is not a registered rule"
            assert finding.severity is RULES[finding.code].severity, finding
        return fast

    return run
