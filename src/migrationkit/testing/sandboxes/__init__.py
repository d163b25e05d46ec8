"""Local, stateful emulators of the accounting APIs, for tests and for people trying things out.

``server`` holds what every sandbox shares (the HTTP server, scripted faults); each folder
fakes one system and enforces its rules. ``migrationkit sandbox NAME`` runs one.
"""
