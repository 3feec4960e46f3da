"""``python -m strided_conv.bench``: see :mod:`strided_conv.bench.cli`."""
import sys

from .cli import main

sys.exit(main())
