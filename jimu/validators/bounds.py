"""Exact one-sided binomial bounds: how sure a count of errors lets one be of an error rate."""

from __future__ import annotations

import math


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    return min(1.0, sum(math.exp(_log_binom_pmf(i, n, p)) for i in range(k + 1)))


def upper_bound(errors: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper bound on an error rate seen as ``errors`` of ``n``:
    the p at which seeing ``errors`` or fewer has probability 1 − confidence. 1.0 when n = 0."""
    if n <= 0:
        return 1.0
    if not 0 <= errors <= n:
        raise ValueError(f"errors must be in 0..n, got {errors} of {n}")
    if errors == n:
        return 1.0
    alpha = 1.0 - confidence
    if errors == 0:
        return 1.0 - alpha ** (1.0 / n)
    lo, hi = errors / n, 1.0
    for _ in range(100):  # bisection: the CDF falls as p grows
        mid = (lo + hi) / 2
        if _binom_cdf(errors, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def fields_needed(errors: int, target: float, confidence: float = 0.95) -> int:
    """Fewest accepted fields with ``errors`` wrong among them whose upper bound is ≤ target
    (how much evidence a group needs before it may be auto-accepted)."""
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1")
    n = max(1, errors + 1)
    while upper_bound(errors, n, confidence) > target:  # grow fast, then bisect
        n *= 2
    lo = n // 2
    while lo + 1 < n:
        mid = (lo + n) // 2
        if upper_bound(errors, mid, confidence) <= target:
            n = mid
        else:
            lo = mid
    return n
