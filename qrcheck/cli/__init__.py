"""The command line (`qrcheck ...`): parsing options, calling the library, printing.

No decision is made here: each command calls the stages (`qrcheck.catalog`, `printing`,
`board`, `reports`...) and prints what they return.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {"main": "app"})
