"""What the project's one-line error messages share."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
