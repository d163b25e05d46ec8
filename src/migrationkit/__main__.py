"""``python -m migrationkit`` runs the command line."""

from migrationkit.cli import main

main()
