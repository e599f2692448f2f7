"""Entry point of ``python -m active_learning``."""

import sys

from .cli import main

sys.exit(main())
