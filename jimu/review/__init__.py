"""The review web app: operators fix and approve flagged fields; supervisors decide and audit.

``jimu review serve`` runs :func:`jimu.review.app.create_app` with uvicorn.  See ``routes`` for the
URL map, ``service`` for the review stages (review → double entry → supervisor) and ``auth`` for
accounts, sessions, CSRF and login rate limiting.
"""
