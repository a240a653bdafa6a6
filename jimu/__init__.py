"""Jimu (事務): back-office AI-OCR for Chiba City's ward-office application forms."""

__version__ = "0.1.0"
