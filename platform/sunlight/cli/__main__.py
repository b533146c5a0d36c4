"""``python -m sunlight.cli ...``: the same command as the ``sunlight`` console script."""

from sunlight.cli.main import main

main()
