"""Studio CLI commands (being written)."""
from flask import Flask


def register_studio_commands(app: Flask) -> None:
    """Attach the author, import and export commands."""
