"""Find the scans waiting in an inbox. The inbox has a folder per ward office; the ward travels with the file.

Every entry that is not taken is reported with a reason (:class:`Skipped`), never dropped without
a word: a file still being written (its size or time changed while the inbox was listed twice,
``settle_s`` apart, or named ``*.part`` / ``*.tmp`` / ``*.crdownload`` as scanners and copy tools
name a file while they write it), a symbolic link that
leads out of the inbox or in a circle, something that is not a plain file (a FIFO, a socket), a
folder Jimu may not read. Hidden entries (``.name``) and ground-truth files are left alone
silently: they are not scans.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

WARDS = ("中央区", "花見川区", "稲毛区", "若葉区", "緑区", "美浜区")
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload")
IGNORED_SUFFIXES = (".truth.json", ".json")

# reason code → what a clerk reads (Japanese), and the English kept for logs
SKIP_REASONS: dict[str, tuple[str, str]] = {
    "still_being_written": ("書き込み中のため次回に読み込みます", "still being written; taken on the next run"),
    "symlink_outside": ("受付フォルダの外を指すリンクのため読み込みません", "a symbolic link leading out of the inbox"),
    "symlink_loop": ("循環しているリンクのため読み込みません", "a symbolic link that loops"),
    "not_a_file": ("通常のファイルではないため読み込みません", "not a regular file (a FIFO, socket or device)"),
    "unreadable_folder": ("フォルダを読めません（権限を確認してください）", "a folder Jimu may not read"),
    "vanished": ("一覧の後にファイルが無くなりました", "the file disappeared after the inbox was listed"),
    "unreadable_file": ("ファイルを読めません（権限を確認してください）", "the file may not be read"),
    "repeated_crash": ("読み込み中に処理が繰り返し止まったため保留しました（システム担当へ）",
                       "every worker that took the file stopped while reading it; set aside"),
}


@dataclass(frozen=True)
class InboxFile:
    path: Path
    ward: str | None  # 区 name, from the folder the file was dropped in


@dataclass(frozen=True)
class Skipped:
    """An inbox entry not taken this run: its name (as a clerk reads it) and why."""

    name: str
    reason: str  # a key of SKIP_REASONS

    @property
    def message(self) -> str:
        return SKIP_REASONS[self.reason][0]


@dataclass
class Discovery:
    files: list[InboxFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def display_name(name: str) -> str:
    """A file name as a person reads it: bytes that are not UTF-8 (a Shift_JIS name from an old
    scanner or a Windows share) are decoded as CP932, else replaced, so the name can be stored."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    for enc in ("cp932", "euc_jp"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def ward_of(path: Path, root: Path) -> str | None:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    for p in parts[:-1]:
        name = display_name(p).removeprefix("千葉市")
        if name in WARDS:
            return name
    return None


def _classify(p: Path, root: Path) -> str | None:
    """None when ``p`` is a scan to take now, else the skip reason."""
    if p.is_symlink():
        try:
            target = p.resolve(strict=True)
        except RuntimeError:
            return "symlink_loop"
        except OSError:
            return "symlink_loop" if _loops(p) else "vanished"
        if not target.is_relative_to(root.resolve()):
            return "symlink_outside"
    try:
        st = p.stat()
    except FileNotFoundError:
        return "vanished"
    except OSError:
        return "unreadable_file"
    if not stat.S_ISREG(st.st_mode):
        return "not_a_file"
    if p.name.endswith(PARTIAL_SUFFIXES):
        return "still_being_written"
    if not os.access(p, os.R_OK):
        return "unreadable_file"
    return None


def _loops(p: Path) -> bool:
    seen = set()
    cur = p
    for _ in range(40):
        if not cur.is_symlink():
            return False
        if cur in seen:
            return True
        seen.add(cur)
        cur = cur.parent / os.readlink(cur)
    return True


def discover(path: Path, settle_s: float = 0.0) -> Discovery:
    """Every scan under ``path`` (or ``path`` itself), and every entry not taken, with its reason.

    Files of any type are taken: a file that is not a scan is quarantined with a reason, not ignored.
    """
    out = Discovery()
    if not path.is_dir():
        reason = _classify(path, path.parent)
        if reason is None:
            out.files.append(InboxFile(path, ward_of(path, path.parent)))
        else:
            out.skipped.append(Skipped(display_name(path.name), reason))
        return out

    def unreadable(e: OSError) -> None:
        name = Path(e.filename).relative_to(path) if e.filename else Path("?")
        out.skipped.append(Skipped(display_name(str(name)), "unreadable_folder"))

    for folder, dirs, names in os.walk(path, onerror=unreadable):  # links are not followed
        here = Path(folder)
        linked = [d for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
        for name in sorted(names + linked):
            if name.startswith(".") or name.endswith(IGNORED_SUFFIXES) or name.endswith("~"):
                continue
            p = here / name
            reason = _classify(p, path)
            if name in linked and reason in (None, "not_a_file"):
                continue  # a link to a folder inside the inbox: its files are found where they are
            if reason is None:
                out.files.append(InboxFile(p, ward_of(p, path)))
            else:
                out.skipped.append(Skipped(display_name(str(p.relative_to(path))), reason))
    out.files.sort(key=lambda f: str(f.path))
    if settle_s > 0 and out.files:
        out = _settled(out, path, settle_s)
    return out


def _signature(p: Path) -> tuple[int, int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _settled(found: Discovery, root: Path, settle_s: float) -> Discovery:
    """Keep the files whose size and time did not change over ``settle_s`` seconds."""
    before = {f.path: _signature(f.path) for f in found.files}
    time.sleep(settle_s)
    out = Discovery(skipped=list(found.skipped))
    for f in found.files:
        now = _signature(f.path)
        if now is not None and now == before[f.path]:
            out.files.append(f)
        else:
            name = display_name(str(f.path.relative_to(root))) if f.path != root else display_name(f.path.name)
            out.skipped.append(Skipped(name, "still_being_written" if now is not None else "vanished"))
    return out
