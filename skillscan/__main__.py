"""`python -m skillscan` runs the command line."""

import sys

from skillscan.cli import main

sys.exit(main())
