"""`python -m qrcheck` runs the command line."""

from qrcheck.cli.app import main

main()
