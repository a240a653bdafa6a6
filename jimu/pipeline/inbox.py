"""Find the scans waiting in an inbox. The inbox has a folder per ward office; the ward travels with the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WARDS = ("中央区", "花見川区", "稲毛区", "若葉区", "緑区", "美浜区")
SKIP_SUFFIXES = (".part", ".tmp", ".crdownload", ".truth.json", ".json")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    ward: str | None  # 区 name, from the folder the file was dropped in


def ward_of(path: Path, root: Path) -> str | None:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    for p in parts[:-1]:
        name = p.removeprefix("千葉市")
        if name in WARDS:
            return name
    return None


def discover(path: Path) -> list[InboxFile]:
    """Every file under ``path`` (or ``path`` itself), skipping hidden, partial and ground-truth files.

    Files of any type are returned: a file that is not a scan is quarantined with a reason, not ignored.
    """
    if path.is_file():
        return [InboxFile(path, ward_of(path, path.parent))]
    out = []
    for p in sorted(path.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
            continue
        if p.name.endswith(SKIP_SUFFIXES) or p.name.endswith("~"):
            continue
        out.append(InboxFile(p, ward_of(p, path)))
    return out
