"""The exceptions bitmapist raises; every backend's failures are turned into these."""

from __future__ import annotations


class BitmapistError(Exception):
    """Base class of every error raised by bitmapist itself."""


class InvalidInput(BitmapistError, ValueError):
    """A value given to the API is outside what it accepts; nothing was written."""


class UnknownSystem(BitmapistError, KeyError):
    """A `system` name that was never configured with `setup_redis` or `SYSTEMS`."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StoreError(BitmapistError):
    """The store could not carry out an operation (corrupt file, server error, ...)."""


class UnsupportedOperation(BitmapistError):
    """The operation does not exist for this kind of store or object."""
