"""Prefect flows of Jimu. Jimu's own loggers are sent to the Prefect UI beside Prefect's
(``PREFECT_LOGGING_EXTRA_LOGGERS``; set it yourself to choose others)."""

import os

os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "jimu")  # Prefect's own variable, set before it is imported
