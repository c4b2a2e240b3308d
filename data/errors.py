"""The one exception type of the data package: every bad-input case raises it, naming the file and the problem."""


class BadInputError(ValueError):
    """A dataset file or folder cannot be used; the message names the path and what is wrong."""
