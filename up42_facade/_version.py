"""The version of up42-facade, read by the User-Agent and the CLI."""

__version__ = "0.1.0"
