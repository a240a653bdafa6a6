"""Snap OCR near-misses to a closed vocabulary, only when the nearest word is unambiguous."""

from __future__ import annotations

from dataclasses import dataclass

from jimu.validators.glyphs import visual_edit_distance
from jimu.validators.japanese import nfkc_compact

# when several words are equally near, the one that *looks* nearest wins only by this margin
VISUAL_MARGIN = 0.05

RELATIONSHIPS = [
    "世帯主", "妻", "夫", "子", "父", "母", "孫", "祖父", "祖母",
    "兄", "弟", "姉", "妹", "同居人", "本人",
]  # fmt: skip

VOCABULARIES: dict[str, list[str]] = {
    "relationship": RELATIONSHIPS,
    "era": ["明治", "大正", "昭和", "平成", "令和"],
    "sex": ["男", "女"],
}


@dataclass(frozen=True)
class SnapResult:
    value: str
    snapped: bool
    candidates: tuple[str, ...] = ()  # nearest vocabulary words, best first (for the review UI)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def snap(value: str, vocabulary: list[str], max_candidates: int = 3) -> SnapResult:
    """Return the vocabulary word ``value`` was most likely meant to be.

    Exact match (also after NFKC/whitespace normalisation) → that word, ``snapped=False``.
    Otherwise the unique nearest word is taken when its edit distance is
    ≤ max(1, len(word) // 3) and strictly smaller than the runner-up's; else ``value`` is
    returned unchanged with ``snapped=False``.  A tie at the smallest distance is broken
    only by glyph similarity (OCR confuses look-alikes: 只和 → 昭和 rather than 令和), when
    a CJK font is available and the winner is clearly ahead (by :data:`VISUAL_MARGIN`).
    """
    if value in vocabulary:
        return SnapResult(value, False, (value,))
    norm = nfkc_compact(value)
    if norm in vocabulary:
        return SnapResult(norm, False, (norm,))
    if not norm or not vocabulary:
        return SnapResult(value, False, ())
    scored = sorted((edit_distance(norm, w), i, w) for i, w in enumerate(vocabulary))
    candidates = tuple(w for _, _, w in scored[:max_candidates])
    best_d, _, best = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else None
    if best_d > max(1, len(best) // 3):
        return SnapResult(value, False, candidates)
    if runner_up is None or best_d < runner_up:
        return SnapResult(best, True, candidates)
    tied = [w for d, _, w in scored if d == best_d]
    visual = _visual_winner(norm, tied)
    if visual is not None:
        others = [w for w in candidates if w != visual]
        return SnapResult(visual, True, (visual, *others))
    return SnapResult(value, False, candidates)


def _visual_winner(value: str, tied: list[str]) -> str | None:
    costs: list[tuple[float, str]] = []
    for w in tied:
        c = visual_edit_distance(value, w)
        if c is None:
            return None
        costs.append((c, w))
    costs.sort()
    if costs[1][0] - costs[0][0] >= VISUAL_MARGIN:
        return costs[0][1]
    return None
