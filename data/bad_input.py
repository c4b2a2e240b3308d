"""The one exception type of the data package: every bad-input case raises it, naming the file and the problem."""
from common.errors import UserError


class BadInputError(UserError, ValueError):
    """A dataset file or folder cannot be used; the message names the path and what is wrong."""
