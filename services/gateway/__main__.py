"""`python -m services.gateway`: run the gateway service."""

import sys

from services.gateway.server import main

sys.exit(main())
