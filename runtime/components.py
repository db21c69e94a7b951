"""Connected components of a binary image, in NumPy: labels and the statistics of each part.

Labelling works on runs: each row's runs of set pixels are nodes, runs that touch in adjacent
rows (8-connectivity) are edges, and the components come from a vectorised union-find (hooking
to the smaller root, then pointer jumping). Its cost grows with the number of runs, not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of True in every row: (row, first column, one past the last column)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # row-major order pairs each start with its end
    return rows, starts, ends


def _touching_runs(rows, starts, ends, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of runs in adjacent rows that touch, diagonals included.

    Runs are sorted by (row, start); with the key row * (width + 2) + column, the runs of row
    r + 1 that touch run [s, e) of row r are those with end >= s and start <= e.
    """
    stride = width + 2
    start_key, end_key = rows * stride + starts, rows * stride + ends
    below = (rows + 1) * stride
    first = np.searchsorted(end_key, below + starts, side="left")
    last = np.searchsorted(start_key, below + ends, side="right")
    counts = np.maximum(last - first, 0)
    a = np.repeat(np.arange(rows.size), counts)
    b = np.repeat(first, counts) + _within(counts)
    return a, b


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., counts[0] - 1, 0, 1, ..., counts[1] - 1, ...: positions inside each group."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    parent = np.arange(n)
    while a.size:
        ra, rb = parent[a], parent[b]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        differ = lo != hi
        if not differ.any():
            break
        np.minimum.at(parent, hi[differ], lo[differ])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def _label_runs(mask: np.ndarray):
    """Labels image, count, and each run's (row, start, end, label)."""
    labels = np.zeros(mask.shape, np.int32)
    rows, starts, ends = runs(mask)
    if rows.size == 0:
        return labels, 0, (rows, starts, ends, rows)
    a, b = _touching_runs(rows, starts, ends, mask.shape[1])
    roots = _union_find(rows.size, a, b)
    _, run_label = np.unique(roots, return_inverse=True)
    run_label = run_label.astype(np.int32) + 1
    lengths = ends - starts
    flat = np.repeat(rows * mask.shape[1] + starts, lengths) + _within(lengths)
    labels.ravel()[flat] = np.repeat(run_label, lengths)
    return labels, int(run_label.max()), (rows, starts, ends, run_label)


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components: an int32 image (0 = background, 1..n) and n, ordered by scan."""
    labels, n, _ = _label_runs(np.asarray(mask, bool))
    return labels, n


@dataclass
class Parts:
    """Per-component statistics, index k for label k + 1."""

    labels: np.ndarray
    area: np.ndarray  # pixels
    mass: np.ndarray  # summed ink
    top: np.ndarray
    left: np.ndarray
    bottom: np.ndarray  # one past the last row
    right: np.ndarray  # one past the last column

    def __len__(self) -> int:
        return len(self.area)

    @property
    def height(self) -> np.ndarray:
        return self.bottom - self.top

    @property
    def width(self) -> np.ndarray:
        return self.right - self.left

    def box(self, keep) -> tuple[int, int, int, int]:
        """The box (left, top, right, bottom; right and bottom exclusive) around the
        components whose indices are in `keep`."""
        return (
            int(min(self.left[k] for k in keep)), int(min(self.top[k] for k in keep)),
            int(max(self.right[k] for k in keep)), int(max(self.bottom[k] for k in keep)),
        )  # fmt: skip

    def mask_of(self, keep) -> np.ndarray:
        """The pixels of the components whose indices are in `keep`."""
        chosen = np.zeros(len(self) + 1, bool)
        chosen[np.asarray(list(keep), int) + 1] = True
        return chosen[self.labels]


def holes(mask: np.ndarray) -> np.ndarray:
    """The pixels off the mask that it closes in: not joined to the array's sides off it."""
    outside, _ = label(~mask)
    edge = np.unique(np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]]))
    return ~mask & ~np.isin(outside, edge)


def interior(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels whose four neighbours are all in it (the array's sides count as in)."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def stroke_width(mask: np.ndarray) -> float:
    """The mean width of the strokes: twice the area over the boundary's length."""
    boundary = int(mask.sum() - interior(mask).sum())
    return 2.0 * float(mask.sum()) / max(boundary, 1)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom; right and bottom exclusive) around a mask's pixels,
    as Parts.box gives it; None if the mask is empty."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def parts(mask: np.ndarray, ink: np.ndarray | None = None) -> Parts:
    """Label `mask` and measure each component (mass from `ink`, or the area)."""
    mask = np.asarray(mask, bool)
    labels, n, (rows, starts, ends, ids) = _label_runs(mask)
    ids = ids - 1
    area = np.bincount(ids, ends - starts, minlength=n).astype(np.int64)
    if ink is None:
        mass = area.astype(np.float64)
    else:
        mass = np.bincount(labels.ravel(), ink.ravel().astype(np.float64), minlength=n + 1)[1:]
    top, left = np.full(n, mask.shape[0]), np.full(n, mask.shape[1])
    bottom, right = np.zeros(n, np.int64), np.zeros(n, np.int64)
    np.minimum.at(top, ids, rows)
    np.minimum.at(left, ids, starts)
    np.maximum.at(bottom, ids, rows + 1)
    np.maximum.at(right, ids, ends)
    return Parts(labels, area, mass, top, left, bottom, right)
