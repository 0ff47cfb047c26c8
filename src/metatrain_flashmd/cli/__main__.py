"""``python -m metatrain_flashmd.cli``: the same as ``mtt-flashmd``."""

import sys

from . import main


sys.exit(main())
