"""Names a package imports on first use (PEP 562), so that importing it stays fast.

Package-internal: :mod:`hotspots` and :mod:`hotspots.export` use :func:`lazy_exports`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Parameters
    ----------
    package : str
        The package's full name, e.g. ``"hotspots.export"``.
    names : mapping of str to str
        ``{public name: submodule of package that defines it}``.
    namespace : dict
        The package's ``globals()``: a name is stored there once loaded, so later lookups are plain.

    Returns
    -------
    getattr, dir
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
