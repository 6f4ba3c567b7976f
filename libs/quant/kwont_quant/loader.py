"""Finding strategy classes: built-ins by name, user strategies from ``.py`` files."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from typing import Any

from kwont_quant.errors import StrategyLoadError
from kwont_quant.strategies import BUILTINS
from kwont_quant.strategy import Strategy


def load_strategy(name_or_path: str | Path) -> type[Strategy]:
    """A built-in strategy by name, or the one strategy class defined in a ``.py`` file.

    A file may append ``:ClassName`` to choose among several classes.

    Raises:
        StrategyLoadError: unknown name, missing file, import failure (traceback in the
            message), no strategy class or several without a choice, or an SDK
            interface version this library does not support.
    """
    text = str(name_or_path)
    if text in BUILTINS:
        return BUILTINS[text]
    path_text, _, wanted = text.partition(":") if text.count(":") == 1 else (text, "", "")
    path = Path(path_text)
    if path.suffix != ".py":
        raise StrategyLoadError(
            f"unknown strategy {text!r}: not a built-in ({', '.join(BUILTINS)}) nor a .py file"
        )
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {str(path)!r} does not exist")
    # A unique module name per file content: two user files never collide in
    # sys.modules, and reloading an edited file gets the new code.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    module_name = f"kwont_user_strategy_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise StrategyLoadError(
            f"importing {str(path)!r} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        ) from exc
    found = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Strategy)
        and obj.__module__ == module_name
        and not inspect.isabstract(obj)
        and "generate" in _defined(obj)
    ]
    if wanted:
        found = [c for c in found if c.__name__ == wanted]
        if not found:
            raise StrategyLoadError(f"{str(path)!r} defines no strategy class {wanted!r}")
    if not found:
        raise StrategyLoadError(
            f"{str(path)!r} defines no strategy class (a subclass of "
            "kwont_quant.Strategy that implements generate())"
        )
    if len(found) > 1:
        names = ", ".join(sorted(c.__name__ for c in found))
        raise StrategyLoadError(
            f"{str(path)!r} defines several strategy classes ({names}); "
            f"choose one with {path}:ClassName"
        )
    cls = found[0]
    if cls.INTERFACE_VERSION != Strategy.INTERFACE_VERSION:
        raise StrategyLoadError(
            f"{cls.__name__} targets strategy interface {cls.INTERFACE_VERSION}; "
            f"this library supports {Strategy.INTERFACE_VERSION}"
        )
    return cls


def _defined(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Strategy:
            break
        names.update(vars(klass))
    return names


def describe_strategy(cls: type[Strategy]) -> dict[str, Any]:
    """JSON-able description: name, description, interface version and parameters
    (each with name, type, default, min, max, step, description)."""
    return {
        "name": cls.strategy_name(),
        "class": cls.__name__,
        "description": cls.description or (inspect.getdoc(cls) or "").split("\n")[0],
        "interface_version": cls.INTERFACE_VERSION,
        "parameters": [p.describe() for p in cls.parameters().values()],
    }
