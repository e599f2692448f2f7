"""Annotator simulation: noise matrices, noisy annotators, initial sparsification, and the annotation store."""

from .noise import generate_noisy_labels, noise_matrix_from_trace, simulate_annotators
from .sparsify import drop_to_least_annotations, keep_random_annotators, sparsify
from .store import AnnotationStore

__all__ = [
    "AnnotationStore",
    "drop_to_least_annotations",
    "generate_noisy_labels",
    "keep_random_annotators",
    "noise_matrix_from_trace",
    "simulate_annotators",
    "sparsify",
]
