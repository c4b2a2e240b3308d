"""The one base class of "the user's input is wrong" errors.

Every library's named error (a bad data file, a wrong checkpoint, a missing weight file, a bad config
value, ...) derives from UserError, so the command lines (cli.run_main) turn exactly these into one line
on stderr and exit code 2, and anything else keeps its traceback as the bug it is.
"""


class UserError(Exception):
    """A mistake in what the user gave (file, value, setting): the message names it and says the fix."""
