"""Stage 5, links: is a decoded link still the right one?

- `verdict`: offline, against the catalog: current, outdated, replaced, abolished, legacy
  portal, or foreign (not an official address: a possible fake sticker);
- `live`: online, safely: public addresses only (after DNS), capped redirects, size and time,
  no cookies, a cache of answers.

How a link is read the way a phone's browser reads it is `qrcheck.urls`, below every stage.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"Verdict": "verdict", "judge": "verdict", "describe": "verdict", "check_urls": "live"},
)
