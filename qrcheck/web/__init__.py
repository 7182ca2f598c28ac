"""The web application staff open on their phones: `qrcheck serve` (see qrcheck/web/app.py)."""

from qrcheck.web.app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
