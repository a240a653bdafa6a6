"""One settings object for the whole application: :class:`Settings`, read from ``JIMU_*`` variables.

Nothing else in Jimu reads its own variables from the environment: code asks :func:`get_settings`
(cached; tests that change a variable call ``get_settings.cache_clear()``). The review app's part is
the nested ``Settings.review`` (:class:`ReviewOptions`), set by ``JIMU_REVIEW_*`` (``JIMU_REVIEW_LOCK_TTL_S``
→ ``review.lock_ttl_s``).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def _default_shared_data() -> Path:
    """Master data lives in ``../shared/data`` beside a checkout; a copy ships in ``jimu/fixtures/data``."""
    shared = PACKAGE_DIR.parent.parent / "shared" / "data"
    if (shared / "chiba_city_towns.csv").exists():
        return shared
    return PACKAGE_DIR / "fixtures" / "data"


class ReviewOptions(BaseModel):
    """The review web app's settings (``jimu review serve``): ``Settings.review``, env ``JIMU_REVIEW_<NAME>``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lock_ttl_s: float = 600.0  # a document opened by an operator stays locked to them this long (refreshed on use)
    session_idle_s: float = 1800.0  # a session unused this long is logged out
    session_max_s: float = 12 * 3600.0  # … and every session ends after this long
    cookie_secure: bool = False  # set True when served over HTTPS (adds the Secure cookie flag)
    login_window_s: float = 900.0  # failed logins are counted over this window …
    login_max_failures_per_name: int = 5  # … per user name
    login_max_failures_per_ip: int = 20  # … and per client address
    worklist_limit: int = 50  # rows on one page of the work list (counts cover every matching document)
    relay_after_approve: bool = True  # run the outbox relay after an approval (in the background) …
    undo_window_s: float = 20.0  # … this long after it, so the operator can still take it back (Alt+Z)
    # argon2id cost of new password hashes (argon2-cffi's defaults, RFC 9106 "low memory"); a stored hash
    # with other parameters is re-hashed at the next successful login
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4


class Settings(BaseSettings):
    # JIMU_REVIEW_LOCK_TTL_S → review.lock_ttl_s: "_" splits a nested model's name from its field, once
    model_config = SettingsConfigDict(env_prefix="JIMU_", extra="ignore", env_nested_delimiter="_",
                                      env_nested_max_split=1)

    # relative to the working directory, resolved where it is used (a Prefect worker runs in the checkout)
    data_dir: Path = Path("data")
    master_data_dir: Path = Field(default_factory=_default_shared_data)
    # more folders of form definitions (a city's own forms), os.pathsep-separated: see :attr:`extra_forms_dirs`
    forms_dirs: str = ""
    # another thresholds file than the shipped, calibrated jimu/validators/thresholds.json
    thresholds_file: Path | None = None

    # input limits (ingest)
    max_file_bytes: int = 200 * 1024 * 1024
    # the inbox is listed twice this many seconds apart: a file whose size or time changed is still
    # being written (a scanner, a copy over the network) and is taken on the next run
    inbox_settle_s: float = 1.0
    # a worker holds a claimed inbox file this long; killed, its files go to another worker after it
    claim_lease_s: float = 300.0
    max_pages: int = 60
    max_page_pixels: int = 60_000_000
    # PDFs are opened in a separate worker process that is killed when it overruns these
    pdf_timeout_s: float = 20.0  # wall-clock limit for opening a PDF, and again for each page
    pdf_memory_mb: int = 2048  # address-space budget of that worker (0 = no limit)

    # the day a batch takes its files in: filing dates (届出日・申請日) must lie in the window before it
    # (rule kind ``intake_window``); None → the day the batch runs. Set it to replay an old intake.
    intake_date: dt.date | None = None

    # OCR
    tesseract_timeout_s: float = 30.0
    ocr_engine: str = "ppocr"  # text/kana/phone fields: the PP-OCRv6 recogniser; or "tesserocr" / "pytesseract"
    # rendered form templates are also kept on disk under {data_dir}/cache/templates (False: memory only)
    template_disk_cache: bool = True
    # the font the vocabulary snap draws glyphs with to compare look-alikes (None: the first CJK font found)
    glyph_font: Path | None = None

    # record store + queue (jimu/store, jimu/queue)
    # where originals are kept, by sha256 under relative keys: None → the data folder; a shared
    # folder (file:///mnt/jimu) or an S3-compatible store (s3://bucket/prefix, needs s3fs)
    storage_url: str | None = None
    new_store: bool = False  # allow an empty or missing embedded store where history is expected
    database_url: str | None = None  # None → SQLite file {data_dir}/jimu.db; postgresql://… → PostgreSQL (psycopg 3)
    queue_url: str | None = None  # None → embedded SQLite queue {data_dir}/queue.db; amqp://… → RabbitMQ
    queue_name: str = "jimu.records"
    queue_connect_timeout_s: float = 5.0  # AMQP connect / socket timeout
    queue_visibility_timeout_s: float = 300.0  # embedded queue: a claimed, un-acked message reappears after this
    consumer_seen_db: Path | None = None  # consumer-side dedupe store; None → {data_dir}/consumer-seen.db

    # CSV hand-off (jimu/export/csv_sink.py): the batch flow writes it after the relay when on
    csv_export: bool = False
    csv_export_format: str = "csv-cp932"  # or "csv-utf8-bom"
    csv_export_dir: Path | None = None  # None → {data_dir}/exports

    # the review web app (JIMU_REVIEW_*)
    review: ReviewOptions = ReviewOptions()

    @property
    def towns_csv(self) -> Path:
        return self.master_data_dir / "chiba_city_towns.csv"

    @property
    def extra_forms_dirs(self) -> tuple[Path, ...]:
        """The folders named in ``JIMU_FORMS_DIRS``, in order."""
        return tuple(Path(p) for p in self.forms_dirs.split(os.pathsep) if p)

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL of the record store (``postgresql://`` is mapped to the psycopg 3 driver)."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir.resolve() / 'jimu.db'}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def resolved_queue_url(self) -> str:
        """``sqlite:///…/queue.db`` for the embedded queue, else the AMQP URL as given."""
        if not self.queue_url:
            return f"sqlite:///{self.data_dir.resolve() / 'queue.db'}"
        return self.queue_url

    @property
    def resolved_consumer_seen_db(self) -> Path:
        return self.consumer_seen_db or self.data_dir.resolve() / "consumer-seen.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
