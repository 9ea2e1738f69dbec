"""`python -m services.gateway`: run the gateway service."""

from services.common.server import exit_now
from services.gateway.server import main

exit_now(main())
