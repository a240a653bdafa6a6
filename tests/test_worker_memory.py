"""The worker's memory housekeeping (jimu.pipeline.memory): collections every few files, startup frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from jimu.pipeline import memory


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


@pytest.fixture
def no_automatic_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(memory, "_files", 0)
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_every_nth_file_collects_garbage_left_in_cycles(no_automatic_gc: None) -> None:
    node = _Node()
    gone = weakref.ref(node)
    del node
    for _ in range(memory.EVERY - 1):
        assert memory.after_file() is False
    assert gone() is not None  # not yet: only every EVERY files
    assert memory.after_file() is True
    assert gone() is None


@pytest.mark.parametrize("files", [1, memory.EVERY, 3 * memory.EVERY + 1])
def test_after_file_is_due_once_per_every_files(no_automatic_gc: None, files: int) -> None:
    assert sum(memory.after_file() for _ in range(files)) == files // memory.EVERY


def test_settle_startup_freezes_what_is_alive_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_settled", False)
    gc.unfreeze()
    try:
        memory.settle_startup()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the interpreter, pytest and jimu's modules at least
        _ = [object() for _ in range(10)]
        memory.settle_startup()  # a second context in the same process freezes nothing more
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_trim_is_harmless_wherever_it_runs() -> None:
    memory.trim()
    memory.trim()
