"""``python -m chatd`` is the ``chatd`` command."""

import sys

from .cli import main

sys.exit(main())
