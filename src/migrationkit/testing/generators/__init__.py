"""Generators of realistic source data, with deliberate defects on request."""
