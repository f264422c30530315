"""Importing a provider's SDK without the type modules a run never uses: `import_sdk(name)`.

`import openai` imports `openai.types`, whose `__init__` imports every type of every API the SDK
covers, and `openai._client` does the same with `openai.types.responses`: ~520 modules, ~0.45 s,
before the first request of a run that needs the ~130 of a chat completion. `import_sdk` puts a
finder in front of the import system first. It imports each package under `openai.types` whose
`__init__` is nothing but `from .module import Name` lines as a package whose names are imported
on first use (a module `__getattr__`, PEP 562); `from openai.types import X`, `openai.types.X` and
the package's submodules work as before. A package whose `__init__` holds anything else imports
as usual, so an SDK release that changes that shape can make the import slower, never wrong.

The Anthropic SDK gains nothing from this (its client imports most of its types itself): it is
imported as is.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

LAZY_TYPE_PACKAGES = {"openai": "openai.types"}  # SDK -> the package whose tree loads on use

_install_lock = threading.Lock()


def import_sdk(name: str) -> ModuleType:
    """The SDK module `name` ("openai", "anthropic"), imported with its type packages lazy where
    that is known to help."""
    prefix = LAZY_TYPE_PACKAGES.get(name)
    if prefix is not None:
        install(prefix)
    return importlib.import_module(name)


def install(prefix: str) -> LazyTypePackages:
    """The finder for the packages under `prefix` (and `prefix` itself), first in
    `sys.meta_path`; installed once per prefix."""
    with _install_lock:
        for finder in sys.meta_path:
            if isinstance(finder, LazyTypePackages) and finder.prefix == prefix:
                return finder
        finder = LazyTypePackages(prefix)
        sys.meta_path.insert(0, finder)
        return finder


def reexports(source: str) -> dict[str, tuple[str, str]] | None:
    """An `__init__`'s names -> (submodule, name in it), when the source is only docstrings,
    `from __future__` and `from .submodule import Name [as Alias]` lines; else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if not isinstance(node, ast.ImportFrom):
            return None
        if node.module == "__future__" and node.level == 0:
            continue
        if node.level != 1 or not node.module or any(a.name == "*" for a in node.names):
            return None
        for alias in node.names:
            names[alias.asname or alias.name] = (node.module, alias.name)
    return names


class LazyTypePackages:
    """A meta path finder and loader: packages under `prefix` whose `__init__` only re-exports
    load their names on first use."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != self.prefix and not name.startswith(self.prefix + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.origin is None or spec.submodule_search_locations is None:
            return spec  # a plain module, or not found: what the usual finder says, found once
        try:
            with open(spec.origin, encoding="utf-8") as f:
                names = reexports(f.read())
        except OSError:
            return spec
        if names is None:
            return spec  # code of its own: imported as usual
        lazy = importlib.machinery.ModuleSpec(
            name, _ReexportLoader(names), origin=spec.origin, is_package=True
        )
        lazy.submodule_search_locations = spec.submodule_search_locations
        lazy.has_location = True  # __file__ is the __init__, as usual
        return lazy


class _ReexportLoader:
    """Makes the package; each re-exported name is imported from its submodule when first read,
    then kept as an ordinary attribute."""

    def __init__(self, names: dict[str, tuple[str, str]]) -> None:
        self.names = names

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        names, package = self.names, module.__name__

        def __getattr__(attr: str) -> object:
            try:
                submodule, original = names[attr]
            except KeyError:
                raise AttributeError(f"module {package!r} has no attribute {attr!r}") from None
            value = getattr(importlib.import_module(f"{package}.{submodule}"), original)
            setattr(module, attr, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__all__ = list(names)
