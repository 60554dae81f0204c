"""``python -m up42_sandbox``: the same as the ``up42-sandbox`` command."""

from __future__ import annotations

import sys

from ._extra import main

sys.exit(main())
