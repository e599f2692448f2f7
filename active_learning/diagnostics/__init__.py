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
from ..strategies import graph_ball_statistics  # the ball statistics live with the δ-graph

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
