"""Domain errors, all in one place.

Every error carries a message key from the i18n catalog and its parameters, so the CLI and the
web page turn it into a sentence in the user's language; nothing below them formats text.

    QrcheckError(Exception)
     ├── CatalogError            the catalog folder or a file in it cannot be used
     │    └── CatalogInvalid     validation found errors (carries the issues)
     ├── ImportFailed            a national-portal export could not be read
     ├── FontMissing(...)        the font needed for Vietnamese text is not available
     ├── GenerationError         a symbol or file could not be produced (e.g. decode-back mismatch)
     └── PhotoError              a photo cannot be read (missing, damaged, not an image, too large)
"""

from __future__ import annotations

from typing import Any


class QrcheckError(Exception):
    """Base class: `key` names a message in the i18n catalog, `params` fill it."""

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # errors cross process boundaries (photos are checked in worker processes)
        return _rebuild, (type(self), self.args, self.__dict__)

    def __str__(self) -> str:  # a readable fallback; user-facing text goes through i18n
        from qrcheck.i18n import t

        return t(self.key, "en", **self.params)


def _rebuild(cls: type[QrcheckError], args: tuple, state: dict) -> QrcheckError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class CatalogError(QrcheckError):
    """The catalog folder, its CSV or its settings cannot be used as they are."""


class CatalogInvalid(CatalogError):
    """Validation found errors; `issues` lists every one of them."""

    def __init__(self, issues: list[Any]) -> None:
        super().__init__("catalog.invalid", count=sum(1 for i in issues if i.is_error))
        self.issues = issues


class ImportFailed(QrcheckError):
    """A national-portal export (xlsx or csv) could not be read or mapped."""


class FontMissing(QrcheckError):
    """The TrueType font with Vietnamese glyphs could not be found or loaded."""


class GenerationError(QrcheckError):
    """A QR symbol or an output file could not be produced correctly."""


class PhotoError(QrcheckError):
    """A photo cannot be read: missing, unreadable, damaged, not an image, or too large."""


def os_reason(exc: OSError) -> str:
    """Why the operating system refused, as short as it says it ("No space left on device")."""
    return exc.strerror or type(exc).__name__
