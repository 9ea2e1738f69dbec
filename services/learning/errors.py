"""Errors the core raises; the servicer maps each to a gRPC status with the message as is."""


class LearningError(Exception):
    """Base: the message says what was wrong and what to do."""


class InvalidInput(LearningError):
    """The request itself is wrong (INVALID_ARGUMENT)."""


class NotFound(LearningError):
    """The call, model, profile or panel asked for does not exist (NOT_FOUND)."""


class Precondition(LearningError):
    """Something must be recorded first (FAILED_PRECONDITION)."""


class Unavailable(LearningError):
    """The database could not do it now; retrying later may work (UNAVAILABLE)."""


class AlreadyExists(LearningError):
    """Something else is recorded under that name already (ALREADY_EXISTS)."""
