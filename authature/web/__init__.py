"""The HTTP layer: app factory, thin routes, one error handler, templates and static files."""

from authature.web.app import create_app

__all__ = ["create_app"]
