"""`python -m services.learning`: run the learning service."""

import os
import sys

# One BLAS thread (set before numpy loads; an operator's own setting wins). Learning's numpy
# work per request is small (a prompt against its nearest validation items, a few products),
# and a multi-threaded BLAS keeps its idle threads spinning after each call: on a machine the
# classifier shares, that took half the cores from every forward pass (the gateway's Route p50
# on bench/routing.py's full run: 27 ms with one thread, 54-100 ms with two).
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

from services.learning.server import main  # noqa: E402

sys.exit(main())
