"""`python -m gfsub ...`, the same as the `gfsub` command."""

from gfsub.cli import main

main()
