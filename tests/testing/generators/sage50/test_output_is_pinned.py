"""The generator's output is pinned: the same seed and options give the same bytes, release after
release.

Test data, benchmarks and bug reports name a file by its seed and options, so a refactoring of
the generator must not change a single byte. The digests below were taken from the generator
before its defect injection moved to a module of its own; a deliberate change to the generated
company updates them in the same commit and says why.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from migrationkit.testing.generators.sage50 import DEFECT_KINDS, GeneratorOptions, generate

# name: (options, sha256 of the file, sha256 of its expected-findings sidecar or None)
PINNED: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "seed-1-default": (
        {"seed": 1},
        "48fef7549b3be890830e42db12b2f750ec9fb7d42bb8b008bb3d9c5d5e4c0e05",
        None,
    ),
    "seed-7-900": (
        {"seed": 7, "transactions": 900},
        "55a134b77c18d79a74b0d82b216b1b2e1d0beceec237f8c4d57c10a9cd201dd6",
        None,
    ),
    "opening-balances": (
        {"seed": 4, "transactions": 400, "history_mode": "opening_balances"},
        "58f5ec3866aa902c6ee074e80b27c66472142cf61c682eb09f73c3fb9983cd4c",
        None,
    ),
    "records-only": (
        {"seed": 9, "history_mode": "records_only"},
        "f59ce9afa82c9915866b4dfd1f9c40127c09117d9d6e9cd6374f3e98905e86c3",
        None,
    ),
    "sized": (
        {
            "seed": 2,
            "transactions": 300,
            "customers": 6,
            "suppliers": 12,
            "products": 15,
            "months": 5,
            "start_date": date(2021, 1, 1),
        },
        "ef336ef5bc5c6c77b944e5d4143c37afad6c1d33aa47ea9d06a532ad4ae18d34",
        None,
    ),
    "one-defect": (
        {"seed": 3, "transactions": 600, "defects": ("over_allocation",)},
        "0fcbcdf2feb1154d5da0693d885216991aafb8e3764a987978b48ac529da115e",
        "e26b0db919f16f95264f4cfdb47041c5dd06e09d79353cf6d66e0f270e8be136",
    ),
    "every-defect": (
        {"seed": 5, "transactions": 900, "defects": tuple(sorted(DEFECT_KINDS))},
        "75cb8856d396ee6465ddaf177b3b2e41c43378a08245b735fa4d9e657e844352",
        "d0c192dc010a90edd26cba747eb1c38842b335251168f47de76db4f8dd96abb5",
    ),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(PINNED))
def test_output_is_byte_identical(tmp_path: Path, name: str) -> None:
    options, data_digest, sidecar_digest = PINNED[name]
    path = tmp_path / f"{name}.json"
    summary = generate(path, GeneratorOptions(**options))
    assert _sha256(path) == data_digest
    if sidecar_digest is None:
        assert summary.expected_path is None
    else:
        assert summary.expected_path is not None
        assert _sha256(summary.expected_path) == sidecar_digest
