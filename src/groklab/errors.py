"""The one exception type a user sees: a bad value, a bad file, a refused run directory.

The CLI prints `GroklabError` as one line and exits with status 2; anything else is a bug.
"""


class GroklabError(ValueError):
    """A problem with the user's input, named with the value and what is allowed."""


class GroklabWarning(UserWarning):
    """Something groklab recovered from but the user should know (the CLI prints one line)."""
