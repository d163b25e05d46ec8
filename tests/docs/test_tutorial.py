"""The tutorial works as written: its files make a connector that installs and passes the suite,
and breaking the rule it breaks makes the suite fail, naming that rule."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "writing-a-connector.md"
BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)\n```', re.DOTALL)
BREAK = ("if Removal.DELETE not in request.actions:", "if False:")


def _files() -> dict[str, str]:
    return dict(BLOCK.findall(DOC.read_text("utf-8")))


def _install(package: Path, site: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(package)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _pytest(package: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True, text=True, env=env, cwd=package,
    )  # fmt: skip


@pytest.mark.slow
def test_the_tutorial_connector_installs_passes_and_fails_by_rule(tmp_path: Path) -> None:
    files = _files()
    assert {
        "pyproject.toml",
        "src/migrationkit_jsondir/connector.py",
        "tests/test_conformance.py",
    } <= set(files)
    package = tmp_path / "migrationkit-jsondir"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text + "\n", "utf-8")

    _install(package, tmp_path / "site")
    passing = _pytest(package, tmp_path / "site")
    assert passing.returncode == 0, passing.stdout[-4000:]
    assert re.search(r"\d+ passed", passing.stdout)

    connector = package / "src/migrationkit_jsondir/connector.py"
    text = connector.read_text("utf-8")
    assert BREAK[0] in text, "the tutorial's 'see a rule fail' step no longer matches the code"
    connector.write_text(text.replace(*BREAK), "utf-8")
    _install(package, tmp_path / "site2")
    failing = _pytest(package, tmp_path / "site2")
    assert failing.returncode != 0
    assert "RULE undeclared-removal" in failing.stdout
    assert "test_removal_refuses_what_is_not_declared" in failing.stdout
