"""Multi-tenant payment-gateway integration hub."""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The installed distribution's version: the one place it is written is pyproject.toml.
    __version__ = version("payment-hub")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
