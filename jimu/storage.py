"""Where originals are kept: content-addressed by sha256, under relative keys, in a shared place.

Every machine of a deployment reads the same originals (the review UI's page image, ``jimu batch
reprocess``), so a document records a *key* (``originals/ab/<sha256>.jpg``), never a machine's path.
The place is ``JIMU_STORAGE_URL``: by default the data folder (a shared folder when several
machines mount it), or any fsspec URL — ``s3://bucket/prefix`` for an S3-compatible object store
(MinIO, a city's cloud), which needs the ``s3fs`` package (``pip install 'jimu[s3]'``).
Through :mod:`fsspec`: one library for a folder and an object store alike.

A missing original is an answer (``None``), never an exception: the caller records it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from jimu.errors import MissingDependencyError
from jimu.settings import Settings

log = logging.getLogger(__name__)


def original_key(sha: str, suffix: str) -> str:
    return f"originals/{sha[:2]}/{sha}{suffix.lower()[:8]}"


class Storage:
    """A root (a folder or an object store prefix) and keys under it."""

    def __init__(self, url: str, cache_dir: Path) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs: Any
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except ImportError as e:
            raise MissingDependencyError(f"storage {self.url.split(':', 1)[0]}:// needs a package: {e}",
                                         hint="For s3:// install s3fs: pip install 'jimu[s3]'.") from e
        self.local = self.fs.protocol in ("file", "local") or "file" in (self.fs.protocol or ())
        self.cache_dir = cache_dir

    def _path(self, key: str) -> str:
        clean = PurePosixPath(key)
        if clean.is_absolute() or ".." in clean.parts:
            raise ValueError("a storage key is relative and stays under the root")
        return f"{self.root}/{clean}"

    def put(self, src: Path, key: str) -> str:
        """Store ``src`` under ``key`` (once: content-addressed keys never change); returns the key."""
        dest = self._path(key)
        if self.fs.exists(dest):
            return key
        if self.local:
            target = Path(dest)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            try:
                shutil.copyfile(src, tmp)
                tmp.replace(target)
            except BaseException:
                tmp.unlink(missing_ok=True)  # a full disk leaves no half copy behind
                raise
        else:
            self.fs.put_file(str(src), dest)
        return key

    def local_path(self, key: str) -> Path | None:
        """A local file holding the object (an object store's is fetched into the cache), or None."""
        try:
            src = self._path(key)
        except ValueError:
            return None
        if self.local:
            p = Path(src)
            return p if p.is_file() else None
        cached = self.cache_dir / key
        if cached.is_file():
            return cached
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(src, str(cached))
        except (OSError, FileNotFoundError) as e:
            log.warning("original %s not found in %s: %s", key, self.url.split("://")[0], type(e).__name__)
            return None
        return cached


def get_storage(settings: Settings) -> Storage:
    url = settings.storage_url or settings.data_dir.resolve().as_uri()
    return Storage(url, settings.data_dir / "cache")


def resolve_original(original_path: str | None, settings: Settings) -> Path | None:
    """The local file of a document's original: a storage key (today), or an absolute path inside
    the data folder (documents stored before keys). None when it is missing."""
    if not original_path:
        return None
    p = Path(original_path)
    if p.is_absolute():
        root = settings.data_dir.resolve()
        try:
            p = p.resolve(strict=True)
        except OSError:
            return None
        return p if p.is_relative_to(root) and p.is_file() else None
    return get_storage(settings).local_path(original_path)
