"""The web application staff open on their phones: `qrcheck serve` (see qrcheck/web/app.py)."""

from qrcheck.web.app import create_app
from qrcheck.web.config import WebConfig

__all__ = ["WebConfig", "create_app"]
