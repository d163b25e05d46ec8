"""The csv connector: one folder, one file per entity."""
