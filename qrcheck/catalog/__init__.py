"""Stage 1, the catalog: the center's procedures as in force on a day.

- `model`: the rows, procedures and views (the catalog as of a day: `resolve`);
- `load`: read and validate `catalog/*.csv` (errors name the file and line), with the earlier
  versions of each procedure kept by imports (`history_rows`);
- `diff`: what changed between two views, field by field;
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
        "load_catalog": "load",
        "catalog_fingerprint": "load",
        "diff_views": "diff",
        "prepare_import": "importer",
        "apply_import": "importer",
    },
)
