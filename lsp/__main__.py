"""`python -m lsp`: see lsp/cli.py."""

import sys

from lsp.cli import main

sys.exit(main())
