"""The one user-error type: bad input that ``sb3-ddpg`` reports as one line (exit status 2), never as a traceback."""


class ConfigError(ValueError):
    """
    A file, key or value that cannot be used. The message names where it comes from (a file, ``--params`` or a
    command-line flag), the key, the problem and the fix.
    """

    @classmethod
    def at(cls, source: str, key: str, problem: str) -> "ConfigError":
        """
        Build the error for one key of one source.

        :param source: Where the value comes from (a file name, ``--params``)
        :param key: The key, dotted for nested ones (``policy_kwargs.net_arch``)
        :param problem: What is wrong and what to write instead
        :return: The error, with the message ``"<source>: <key>: <problem>"``
        """
        return cls(f"{source}: {key}: {problem}")
