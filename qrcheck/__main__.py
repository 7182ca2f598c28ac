"""`python -m qrcheck` runs the command line."""

from qrcheck.cli import main

main()
