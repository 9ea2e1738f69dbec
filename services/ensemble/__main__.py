"""`python -m services.ensemble`: run the ensemble service."""

import sys

from services.ensemble.server import main

sys.exit(main())
