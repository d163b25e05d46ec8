"""migrationkit."""
