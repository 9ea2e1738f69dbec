"""`python -m services.ensemble`: run the ensemble service."""

from services.common.server import exit_now
from services.ensemble.server import main

exit_now(main())
