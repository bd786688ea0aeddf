"""
SB3's own test files, fetched from its sdist, run with this package's DDPG standing in (``make test-sb3``).

- :mod:`tests.sb3_oracle.fetch`: download and cache SB3's ``tests/`` for the installed SB3 version.
- :mod:`tests.sb3_oracle.plugin`: the pytest plugin that substitutes the classes, selects the DDPG cases and marks
  the expected failures.
- :mod:`tests.sb3_oracle.expectations`: the one list of expected failures (deliberate differences, artifacts of the
  substitution) and of the known bugs still to fix.

Nothing here is collected by the default ``make test``: there is no ``test_*.py`` file in this folder.
"""
