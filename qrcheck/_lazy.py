"""Package faces that import nothing until a name is used (PEP 562).

A face names what its stage exports and in which module it lives; the module is imported on
first use, so `import qrcheck.catalog` in the command line stays quick even when the stage's
modules pull in numpy, OpenCV or reportlab.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def attach(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for `package`, whose `exports` maps each public
    name to the submodule (relative to the package) that defines it."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
