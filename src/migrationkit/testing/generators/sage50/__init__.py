"""A seeded generator of Sage 50 company exports (sage50-json 1.0) and their defects."""

from .generator import (
    DEFECT_KINDS,
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
