"""Finding tesseract's model files (``*.traineddata``) and turning language names into paths.

Both engines use the same directory, so that the CLI binary (Debian's tesseract 5.3) and tesserocr
(whose wheel bundles its own libtesseract 5.5) read with the same models.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from jimu.errors import MissingDependencyError

CANDIDATE_DIRS = (
    Path("/usr/share/tesseract-ocr/5/tessdata"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata"),
)
REQUIRED_LANGS = ("jpn", "Japanese")

# Debian package that ships each model (script models live in tessdata/script/ on Debian)
DEBIAN_PACKAGES = {
    "jpn": "tesseract-ocr-jpn",
    "jpn_vert": "tesseract-ocr-jpn-vert",
    "Japanese": "tesseract-ocr-script-jpan",
    "Japanese_vert": "tesseract-ocr-script-jpan-vert",
    "eng": "tesseract-ocr-eng",
    "osd": "tesseract-ocr-osd",
}


def _package(lang: str) -> str:
    return DEBIAN_PACKAGES.get(lang, f"tesseract-ocr-{lang.lower().replace('_', '-')}")


def _install_hint(langs: Iterable[str]) -> str:
    return "Install the models: sudo apt-get install " + " ".join(_package(lang) for lang in langs)


def _candidates() -> list[Path]:
    out: list[Path] = []
    prefix = os.environ.get("TESSDATA_PREFIX")  # tesseract's own variable, honoured as tesseract itself does
    if prefix:
        # tesseract ≥ 4 wants the tessdata directory itself; 3.x wanted its parent — accept both
        out += [Path(prefix), Path(prefix) / "tessdata"]
    out += list(CANDIDATE_DIRS)
    return out


def find_model(tessdata: Path, lang: str) -> str | None:
    """The name to pass to tesseract for ``lang`` ("Japanese" or "script/Japanese"), None if absent."""
    for name in (lang, f"script/{lang}"):
        if (tessdata / f"{name}.traineddata").is_file():
            return name
    return None


def tessdata_dir(required: Iterable[str] = REQUIRED_LANGS) -> Path:
    """The tessdata directory: ``$TESSDATA_PREFIX``, then Debian's tesseract 5 and 4 locations.

    The first candidate that holds any ``*.traineddata`` wins. Raises MissingDependencyError (with
    the ``apt-get install`` line) when there is none, or when it lacks one of ``required``.
    """
    required = tuple(required)
    for cand in _candidates():
        if cand.is_dir() and (any(cand.glob("*.traineddata")) or any(cand.glob("script/*.traineddata"))):
            missing = [lang for lang in required if find_model(cand, lang) is None]
            if missing:
                raise MissingDependencyError(
                    f"tesseract models missing in {cand}: {', '.join(missing)}", hint=_install_hint(missing)
                )
            return cand
    tried = ", ".join(str(c) for c in _candidates())
    raise MissingDependencyError(
        f"no tesseract models (tessdata) found; looked in {tried}",
        hint=_install_hint(("eng", *required)) + " (or set TESSDATA_PREFIX)",
    )


def resolve_lang(tessdata: Path, lang: str) -> str:
    """``"Japanese+eng"`` → ``"script/Japanese+eng"`` as laid out in ``tessdata``; raises if absent."""
    parts = [p for p in lang.split("+") if p]
    if not parts:
        raise ValueError("empty OCR language")
    names: list[str] = []
    missing: list[str] = []
    for part in parts:
        name = find_model(tessdata, part)
        if name is None:
            missing.append(part)
        else:
            names.append(name)
    if missing:
        raise MissingDependencyError(
            f"tesseract model missing in {tessdata}: {', '.join(missing)}", hint=_install_hint(missing)
        )
    return "+".join(names)
