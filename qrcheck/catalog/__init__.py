"""Stage 1, the catalog: the center's procedures as in force on a day.

- `model`: load and validate `catalog/*.csv` (errors name the file and line), the view as of a
  day, the diff between two views, the earlier versions of each procedure;
- `csv_text`: how the CSV files are read (encodings, delimiters, spreadsheet formulas);
- `importer`: a new catalog from the province's spreadsheet export, checked before it is written.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Catalog": "model",
        "CatalogView": "model",
        "Procedure": "model",
        "Row": "model",
        "load_catalog": "model",
        "catalog_fingerprint": "model",
        "diff_views": "model",
        "prepare_import": "importer",
        "apply_import": "importer",
    },
)
