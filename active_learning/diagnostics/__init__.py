"""Diagnostics of a feature space for the strategies that run on it (see :mod:`.coverage`)."""

from .coverage import (
    BallRow,
    CoverageDiagnostic,
    CoverageRow,
    ball_statistics,
    diagnose_coverage,
    graph_ball_statistics,
    plot_coverage_diagnostic,
    probcover_coverage,
)

__all__ = [
    "BallRow",
    "CoverageDiagnostic",
    "CoverageRow",
    "ball_statistics",
    "diagnose_coverage",
    "graph_ball_statistics",
    "plot_coverage_diagnostic",
    "probcover_coverage",
]
