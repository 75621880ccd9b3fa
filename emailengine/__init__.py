"""Email Engine: the `ee` toolkit. This module holds the version constant only and imports nothing."""

__version__ = "0.1.0"
