"""The batch pipeline as plain functions: inbox → extract (worker processes) → decide → store → outbox.

``jimu/flows/`` wraps these in Prefect tasks; nothing here imports Prefect.
"""
