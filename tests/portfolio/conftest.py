"""Fixtures of the portfolio tests: small generated companies, folders with fast settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import postgres
from migrationkit import PluginRegistry
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from portfolio.portfolio_support import DEFECTS, Trouble, TroublePlugin, fast_folder


@pytest.fixture(scope="session")
def companies(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, int], list[Path]]:
    """``companies(count, defective)``: small generated Sage 50 exports, the last ones defective."""
    folder = tmp_path_factory.mktemp("companies")
    made: dict[tuple[int, bool], Path] = {}

    def make(count: int, defective: int = 0) -> list[Path]:
        paths = []
        for n in range(count):
            bad = n >= count - defective
            key = (n, bad)
            if key not in made:
                path = folder / f"company-{n}{'-bad' if bad else ''}.json"
                defects = (DEFECTS[n % len(DEFECTS)],) if bad else ()
                for seed in range(100 + n, 1000 + n, 97):
                    try:
                        generate(
                            path, GeneratorOptions(seed=seed, transactions=12, defects=defects)
                        )
                    except ValueError:  # no place for the defect in so small a company
                        continue
                    break
                made[key] = path
            paths.append(made[key])
        return paths

    return make


@pytest.fixture
def portfolio_dir(tmp_path: Path) -> Path:
    return fast_folder(tmp_path / "practice")


@pytest.fixture
def trouble() -> Iterator[type[Trouble]]:
    Trouble.raises = {}
    Trouble.loads = 0
    Trouble.spools = []
    yield Trouble
    Trouble.raises = {}


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry(plugins=[TroublePlugin])


@pytest.fixture
def pg_namespace(postgres_url: str) -> str:
    """A schema namespace of this session's, for one distributed portfolio."""
    return postgres.new_schema("pf")
