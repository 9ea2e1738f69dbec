"""`python -m services.classifier`: run the classifier service."""

from services.classifier.server import main
from services.common.server import exit_now

exit_now(main())
