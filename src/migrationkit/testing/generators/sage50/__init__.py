"""A seeded generator of Sage 50 company exports (sage50-json 1.0) and their defects.

``generator`` runs the simulation and writes the file; ``company`` holds the reference data of the
company it builds, ``plans`` the objects a story is planned with, ``defects`` the deliberate
mistakes and their expected-findings sidecar, ``common`` the small helpers they share.
"""

from .defects import DEFECT_KINDS
from .generator import (
    HISTORY_MODES,
    TRANSACTION_TYPES,
    GenerationSummary,
    GeneratorOptions,
    generate,
)

__all__ = [
    "DEFECT_KINDS",
    "HISTORY_MODES",
    "TRANSACTION_TYPES",
    "GenerationSummary",
    "GeneratorOptions",
    "generate",
]
