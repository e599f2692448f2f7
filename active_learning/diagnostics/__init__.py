"""Diagnostics of a feature space for the strategies that run on it (see :mod:`.coverage`)."""

from .coverage import (
    BallRow,
    CoverageDiagnostic,
    CoverageRow,
    ball_statistics,
    diagnose_coverage,
    plot_coverage_diagnostic,
    probcover_coverage,
)

__all__ = [
    "BallRow",
    "CoverageDiagnostic",
    "CoverageRow",
    "ball_statistics",
    "diagnose_coverage",
    "plot_coverage_diagnostic",
    "probcover_coverage",
]
