"""Active learning when annotators make mistakes: a benchmark suite and library.

Reproduces *ActiveLab* (Goh & Mueller 2023) and *Active Learning with a Noisy Annotator* (Shafir, Hacohen,
Weinshall 2025). See the README for the command line and the public API.
"""

__version__ = "0.1.0"
