"""`python -m benchbox`, the same as the `benchbox` command."""

from benchbox.cli import main

main()
