"""One settings object for the whole application (env prefix ``JIMU_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_shared_data() -> Path:
    """Master data lives in ``../shared/data`` beside the checkout; a copy ships in ``fixtures/data``."""
    shared = REPO_ROOT.parent / "shared" / "data"
    if (shared / "chiba_city_towns.csv").exists():
        return shared
    return REPO_ROOT / "fixtures" / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIMU_", extra="ignore")

    data_dir: Path = REPO_ROOT / "data"
    master_data_dir: Path = _default_shared_data()
    forms_dir: Path = REPO_ROOT / "forms_schema"

    # input limits (ingest)
    max_file_bytes: int = 200 * 1024 * 1024
    max_pages: int = 60
    max_page_pixels: int = 60_000_000

    # OCR
    tesseract_timeout_s: float = 30.0
    ocr_engine: str = "tesserocr"  # or "pytesseract"

    @property
    def towns_csv(self) -> Path:
        return self.master_data_dir / "chiba_city_towns.csv"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
