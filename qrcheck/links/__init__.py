"""Link verdicts: what a decoded link means against the catalog (and, later, the live web)."""
