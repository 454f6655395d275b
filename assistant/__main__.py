"""``python -m assistant`` — see assistant/cli.py."""

import sys

from assistant.cli import main

sys.exit(main())
