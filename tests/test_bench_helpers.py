"""Pure parts of the pipeline and registration benches, on synthetic inputs (no OCR, no Prefect)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from jimu.bench.pipeline_bench import SCAN_SUFFIXES, _inbox
from jimu.bench.register_eval import Template, line_offsets, ruled_segments, turn_clockwise
from jimu.bench.tree_sampler import TreeSampler, rss_mib_tree
from jimu.extractors import homography as H

# --------------------------------------------------------------------------- pipeline bench


def test_memory_of_a_process_tree_counts_its_children() -> None:
    alone = rss_mib_tree(os.getpid())
    assert alone > 1.0  # a Python process has more than a MiB resident
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(64 << 20); time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while rss_mib_tree(os.getpid()) < alone + 48 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rss_mib_tree(os.getpid()) >= alone + 48  # the child's 64 MiB are in the tree's figure
        assert rss_mib_tree(child.pid) >= 48
    finally:
        child.kill()
        child.wait()


def test_memory_of_a_process_that_is_gone_is_zero() -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert rss_mib_tree(p.pid) == 0.0


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        pytest.param([100.0, 120.0, 110.0, 130.0, 125.0, 128.0, 200.0, 140.0],
                     {"peak_mib": 200.0, "first_quarter_peak_mib": 120.0, "last_quarter_peak_mib": 200.0,
                      "samples": 8}, id="eight-samples"),
        pytest.param([50.0, 60.0, 55.0], {"peak_mib": 60.0, "first_quarter_peak_mib": 50.0,
                                          "last_quarter_peak_mib": 55.0, "samples": 3}, id="fewer-than-four"),
        pytest.param([], {"peak_mib": 0.0, "first_quarter_peak_mib": 0.0, "last_quarter_peak_mib": 0.0,
                          "samples": 0}, id="none"),
    ],
)
def test_memory_sampler_reports_the_peak_and_the_first_and_last_quarters(samples: list[float],
                                                                         expected: dict[str, float]) -> None:
    m = TreeSampler()
    m.start()
    m.stop_ev.set()
    m.join()
    m.samples = [(float(i), v) for i, v in enumerate(samples)]  # what it would have seen
    assert m.stop() == expected


def test_memory_sampler_samples_while_it_runs() -> None:
    m = TreeSampler(every_s=0.01)
    m.start()
    time.sleep(0.2)
    r = m.stop()
    assert r["samples"] >= 3 and r["peak_mib"] > 1.0
    assert not m.is_alive()


def test_tree_sampler_counts_the_cpu_of_a_child_by_its_role() -> None:
    tree = TreeSampler(every_s=0.05)
    tree.start()
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.6: pass\ntime.sleep(0.5)"])
    child.wait(timeout=30)
    tree.stop()
    cpu = tree.cpu_by_role()
    # the child spun 0.6 s; it was last seen alive during its 0.5 s sleep, so all of that is counted
    assert cpu["python"] >= 0.5
    assert cpu["total"] >= cpu["python"] + cpu.get("this process", 0.0) - 0.2


def test_tree_sampler_leaves_out_what_was_spent_before_it_started() -> None:
    t = time.process_time()
    while time.process_time() - t < 0.4:
        pass
    tree = TreeSampler(every_s=0.05)
    tree.start()
    time.sleep(0.2)
    tree.stop()
    assert tree.cpu_by_role().get("this process", 0.0) < 0.3


def test_the_bench_inbox_holds_the_scans_only(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("a.png", "b.jpg", "c.tif", "d.pdf", "a.truth.json", "notes.txt"):
        (scans / name).write_bytes(name.encode())
    work = tmp_path / "work"
    (work / "inbox" / "old").mkdir(parents=True)  # left over from a previous run: emptied
    inbox = _inbox(scans, work)
    files = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())
    assert files == ["中央区/a.png", "中央区/b.jpg", "中央区/c.tif", "中央区/d.pdf"]
    assert {Path(f).suffix for f in files} <= set(SCAN_SUFFIXES)
    assert (inbox / "中央区" / "a.png").read_bytes() == b"a.png"


# --------------------------------------------------------------------------- registration evaluation


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 4, 5, -1])
def test_turning_a_scan_turns_its_matrix_with_it(turns: int) -> None:
    h, w = 30, 50
    img = np.zeros((h, w), np.uint8)
    pts = np.array([[3.0, 4.0], [40.0, 2.0], [10.0, 25.0]])
    for x, y in pts.astype(int):
        img[y, x] = 255
    matrix = H.translation(0.0, 0.0)  # template → scan: the identity
    out, m = turn_clockwise(img, matrix, turns)
    assert out.shape == ((h, w) if turns % 2 == 0 else (w, h))
    for (x, y), (tx, ty) in zip(pts, H.apply(m, pts), strict=True):
        assert out[round(ty), round(tx)] == 255, (x, y)  # the pixel is where the matrix now says
    assert int(out.sum()) == int(img.sum())


def _template(shift: int = 0) -> Template:
    """A blank of ruled lines (horizontal every 100 px, vertical every 150 px), as the evaluation reads it."""
    img = np.full((600, 700), 255, np.uint8)
    for y in range(100, 600, 100):
        img[y + shift : y + shift + 3, 40:660] = 0
    for x in range(150, 700, 150):
        img[40:560, x + shift : x + shift + 3] = 0
    t = type("T", (), {"image": img, "key": f"synthetic-{shift}"})()
    return cast(Template, t)


def test_ruled_segments_cut_long_lines_into_pieces() -> None:
    segs = ruled_segments(_template())
    horizontal = {round(s.pos) for s in segs if s.horizontal}
    vertical = {round(s.pos) for s in segs if not s.horizontal}
    assert horizontal == {101, 201, 301, 401, 501}
    assert vertical == {151, 301, 451, 601}
    assert all(0 < s.hi - s.lo <= 160 for s in segs)


@pytest.mark.parametrize("shift", [-3, -1, 0, 2, 4])
def test_line_offsets_measure_how_far_the_page_lines_are(shift: int) -> None:
    page = _template(shift).image
    offs = line_offsets(page, _template())
    assert offs.size > 20
    assert np.allclose(offs, shift, atol=0.35)


def test_a_page_without_lines_has_no_offsets() -> None:
    blank = np.full((600, 700), 255, np.uint8)
    assert line_offsets(blank, _template()).size == 0


def test_stolen_time_is_read_and_never_goes_back() -> None:
    from jimu.bench.tree_sampler import stolen_s

    a = stolen_s()
    b = stolen_s()
    assert 0.0 <= a <= b
