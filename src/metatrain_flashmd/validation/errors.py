"""The error raised for input that cannot be validated."""

from typing import Any


class ValidationInputError(ValueError):
    """Input that a validation cannot use: a missing or unreadable file, a START
    with elements the model does not know, a reference calculator that cannot
    handle the system, a reference trajectory of another composition or
    temperature. The message starts with the file (or calculator) at fault.

    :param source: the file or calculator at fault.
    :param message: what is wrong with it.
    """

    def __init__(self, source: Any, message: str) -> None:
        self.source = str(source)
        super().__init__(f"{source}: {message}")
