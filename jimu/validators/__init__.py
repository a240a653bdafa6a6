"""Japanese formats, check digits, master-data look-ups, cross-field rules and the accept/flag policy.

(This is the project's own top-level package; it never depends on the PyPI package named ``validators``.)
"""
