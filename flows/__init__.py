"""Prefect flows: thin wrappers that wire the stage functions together."""
