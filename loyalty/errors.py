"""Typed errors. Library code raises these; the CLI and the API turn them into one clear message."""


class LoyaltyError(Exception):
    """Base class for every error the service reports to a person instead of a traceback."""


class ConfigError(LoyaltyError):
    """A setting is missing or malformed."""


class InputFileError(LoyaltyError):
    """A file cannot be read at all: missing, empty, unknown columns, not UTF-8."""


class NotFoundError(LoyaltyError):
    """A named thing (customer, model, job, ...) does not exist."""


class RuleValidationError(LoyaltyError):
    """A reward rule (conditions, reward or message) is malformed.

    ``issues`` holds every problem found as ``(path, message)`` pairs, the path naming the bad
    part the way a person would point at it: ``conditions.all[1].op``, ``reward.percent``.
    """

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.issues))


class OfferError(LoyaltyError):
    """An offer cannot change as asked (redeem an expired offer, cancel a cancelled one...)."""
