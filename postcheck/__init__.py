"""postcheck: verify the pictures in social-media posts."""

__version__ = "0.1.0"
