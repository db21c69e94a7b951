"""The images named on a command line: files, folders (searched recursively) and glob patterns.

Folders and `**` patterns are walked following symbolic links, but never into a folder twice,
so a link cycle neither hangs the walk nor repeats an image; an image reached by two paths is
read once.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

IMAGE_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
    ".pnm", ".jfif", ".ico",
}  # fmt: skip


def expand(args: list[str]) -> Iterator[tuple[str, str | None]]:
    """(path, None) for each image to read, (argument, why) for an argument that names none."""
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            images = [p for p in walk(arg) if Path(p).suffix.lower() in IMAGE_SUFFIXES]
            yield from _or_else(images, arg, "no images in this folder")
        elif os.path.lexists(arg) and not glob.has_magic(arg):
            yield arg, None
        elif glob.has_magic(arg):
            matches = [p for p in match(arg) if os.path.isfile(p)]
            yield from _or_else(matches, arg, "no file matches this pattern")
        else:
            yield arg, "no such file"


def _or_else(found: list[str], arg: str, why: str) -> list[tuple[str, str | None]]:
    return [(p, None) for p in found] if found else [(arg, why)]


def walk(root: str) -> list[str]:
    """Every file under `root`, sorted, each real file once; link cycles are cut."""
    seen_dirs, seen_files, found = set(), set(), []
    for folder, dirs, files in os.walk(root, followlinks=True):
        key = _identity(folder)
        if key is None or key in seen_dirs:
            dirs[:] = []
            continue
        seen_dirs.add(key)
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            real = _identity(path)
            if real is not None and real not in seen_files:
                seen_files.add(real)
                found.append(path)
    return sorted(found)


def match(pattern: str) -> list[str]:
    """glob.glob(pattern, recursive=True), sorted, without following a link cycle forever."""
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = str(Path(*parts[:fixed])) if fixed else "."
    wanted = parts[fixed:]
    found = []
    for path in walk(root):
        relative = Path(os.path.relpath(path, root)).parts
        if _matches(relative, wanted) and not any(p.startswith(".") for p in relative):
            found.append(path if fixed else os.path.relpath(path, "."))
    return found


def _matches(parts: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return not parts
    if patterns[0] == "**":
        return any(_matches(parts[i:], patterns[1:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], patterns[0]) and _matches(parts[1:], patterns[1:])


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
