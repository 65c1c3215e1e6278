"""Authature: an OAuth 2.0 / OpenID Connect server where people sign in with their handwritten signature."""

__all__ = ["__version__"]

__version__ = "0.1.0"
