"""``python -m offcourse``."""

import sys

from .cli import main

sys.exit(main())
