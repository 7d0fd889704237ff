"""Domain errors: what went wrong in terms of the store, not of HTTP."""


class DomainError(Exception):
    def __init__(self, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """The write contradicts the current state (a duplicate id, a topic in use)."""


class PreconditionFailed(DomainError):
    """The writer's version is not the current one."""


class Invalid(DomainError):
    """The request is well-formed but refers to things that do not exist."""


class Unavailable(DomainError):
    """The store of record cannot be reached: nothing was written; try again shortly."""

    retry_after = 5
