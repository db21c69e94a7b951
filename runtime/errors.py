"""What the project's one-line error messages share."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def printable(text) -> str:
    """Text on one line: control characters (a newline in a file name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def warnings_on_one_line(current_image) -> None:
    """Library warnings (Pillow's about a corrupt EXIF block) as one stderr line that names the
    image being read (current_image() of the thread that warns)."""
    import sys
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        where = current_image()
        prefix = f"{printable(where)}: " if where else ""
        sys.stderr.write(f"warning: {prefix}{first_line(message)}\n")

    warnings.showwarning = show
    warnings.filterwarnings("always", module="PIL")
