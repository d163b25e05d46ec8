"""A JSON Lines archive connector for migrationkit (an example third-party plugin)."""
