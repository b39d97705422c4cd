"""The one exception hierarchy of hwsim.

Every error raised on bad user input is a subclass of :class:`HwsimError`; the
``ValueError`` subclasses let callers that already catch ``ValueError`` keep working.
Messages quote the bad value and the allowed range.
"""
from __future__ import annotations


class HwsimError(Exception):
    """Base class of every hwsim error."""


class ConfigError(HwsimError, ValueError):
    """A configuration value, key, preset or option is invalid."""


class MappingError(HwsimError, ValueError):
    """A weight matrix cannot be mapped (bad shape, non-finite values, too large)."""


class DataError(HwsimError, ValueError):
    """Input data, a data file or a weights file is missing, malformed or hostile."""
