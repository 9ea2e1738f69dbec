"""`python -m freescaling`: the command-line client."""

import sys

from freescaling.cli import main

sys.exit(main())
