"""`python -m services.classifier`: run the classifier service."""

import sys

from services.classifier.server import main

sys.exit(main())
