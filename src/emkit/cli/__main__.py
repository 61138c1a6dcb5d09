"""``python -m emkit.cli``: the same as the ``emkit`` console script."""

import sys

from emkit.cli import main

sys.exit(main())
