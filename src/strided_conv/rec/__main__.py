"""``python -m strided_conv.rec``: see :mod:`strided_conv.rec.cli`."""
import sys

from .cli import main

sys.exit(main())
