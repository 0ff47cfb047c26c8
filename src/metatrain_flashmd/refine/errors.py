"""The errors of a refine."""

from metatrain_flashmd.validation.errors import ValidationInputError


class RefineInputError(ValidationInputError):
    """Input a refine cannot use, found before any work: the message starts with
    the file (or calculator) at fault."""


class RefineError(RuntimeError):
    """A step of a round failed (training, a reference restart); what earlier
    rounds wrote is kept, and the refine resumes at that step when run again."""
