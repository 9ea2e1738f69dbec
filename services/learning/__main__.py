"""`python -m services.learning`: run the learning service."""

import sys

from services.learning.server import main

sys.exit(main())
