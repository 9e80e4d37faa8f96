"""Typed errors. Library code raises these; the CLI and the API turn them into one clear message."""


class LoyaltyError(Exception):
    """Base class for every error the service reports to a person instead of a traceback."""


class ConfigError(LoyaltyError):
    """A setting is missing or malformed."""


class InputFileError(LoyaltyError):
    """A file cannot be read at all: missing, empty, unknown columns, not UTF-8."""


class NotFoundError(LoyaltyError):
    """A named thing (customer, model, job, ...) does not exist."""
