"""Stage 2, printing: a QR code and a printable posting for every procedure.

- `symbol`: the QR symbol of a link, verified by decoding it back;
- `posting`: the posting's layout (PDF, A5/A4) and the print sheet of postings to reprint;
- `generate`: every posting of the catalog, regenerating only what changed, with the list of
  what must be reprinted or taken down.

The link a code holds (`qrcheck.payload`) sits below this stage: the catalog and the link
verdict read it too.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "make_symbol": "symbol",
        "posting_pdf": "posting",
        "print_sheet_pdf": "posting",
        "generate": "generate",
        "GenerateOptions": "generate",
    },
)
