"""benchbox: is this endpoint ready for production traffic? Measured, not guessed."""

__version__ = "0.1.0"
