"""`python -m sotabot.bot.cli`: the `sotabot` command without the console script."""

import sys

from sotabot.bot.cli import main

sys.exit(main())
