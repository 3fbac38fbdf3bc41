"""The domain layer's refusals: each carries a sentence for a person, and means nothing was changed.

Every door turns them into its own shape: a form error (dashboard), a CLI error message, or a
400 with Auth0's JSON (Management API).
"""


class ApplicationError(ValueError):
    """A change to an application that cannot be made, with a message that says why."""


class CredentialError(ApplicationError):
    """A credential that cannot be registered or changed, with a sentence that says why."""


class DuplicateCredentialError(CredentialError):
    """The key, certificate or subject DN is registered already (the Management API's 409 Conflict)."""
