"""Real datasets: small ones shipped in the package (``load``), IDX files (``load_idx``).

See ``bundled.py`` for the returned structure and ``DATA_LICENSE.md`` for provenance and licences.
"""
from .bundled import DATA_DIR, Data, available, load, load_path
from .idx import IDX_DTYPES, load_idx, load_idx_dir

__all__ = ["Data", "load", "load_path", "available", "load_idx", "load_idx_dir", "IDX_DTYPES",
           "DATA_DIR"]
