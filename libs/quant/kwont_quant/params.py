"""Typed strategy parameters with a default and an optimisation range (Freqtrade style).

Declared as class attributes of a strategy::

    class MyStrategy(Strategy):
        fast = IntParameter(2, 100, default=10)
        stop = FloatParameter(0.005, 0.10, default=0.02, step=0.005)

On an instance, ``self.fast`` is the validated ``int`` value; on the class,
``MyStrategy.fast`` is the parameter object itself.
"""

from __future__ import annotations

import math
from typing import Any, Generic, Self, TypeVar, overload

from kwont_quant.errors import ParameterError

T = TypeVar("T", int, float, bool)


class Parameter(Generic[T]):
    """Base of the typed parameters: a range ``[low, high]``, a default and a step."""

    type_name = "parameter"

    def __init__(
        self, low: T, high: T, *, default: T, step: T | None = None, description: str = ""
    ) -> None:
        self.name = ""
        self.low: T = low
        self.high: T = high
        self.step: T | None = step
        self.description = description
        if high < low:
            raise ParameterError(f"range {low}..{high} is empty")
        self.default: T = self._check(self._coerce(default), what="default")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Self | T:
        if obj is None:
            return self
        value: T = obj.__dict__["_params"][self.name]
        return value

    def _coerce(self, value: object) -> T:
        raise NotImplementedError

    def _check(self, value: T, what: str = "value") -> T:
        if not (self.low <= value <= self.high):
            raise ParameterError(
                f"parameter {self.name or '?'!r} {what} {value!r} is outside its range "
                f"{self.low}..{self.high}"
            )
        return value

    def validate(self, value: object) -> T:
        """Coerce ``value`` (a number, or a string from a CLI) and range-check it.

        Raises:
            ParameterError: wrong type, not parseable, or outside ``[low, high]``.
        """
        return self._check(self._coerce(value))

    def grid(self) -> list[T]:
        """Every value from ``low`` to ``high`` (inclusive) by ``step``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """JSON-able description: name, type, default, min, max, step, description."""
        return {
            "name": self.name,
            "type": self.type_name,
            "default": self.default,
            "min": self.low,
            "max": self.high,
            "step": self.step,
            "description": self.description,
        }


class IntParameter(Parameter[int]):
    """An integer parameter (periods, lookbacks); ``step`` defaults to 1."""

    type_name = "int"

    def __init__(
        self, low: int, high: int, *, default: int, step: int = 1, description: str = ""
    ) -> None:
        super().__init__(low, high, default=default, step=step, description=description)

    def _coerce(self, value: object) -> int:
        if isinstance(value, bool):
            raise ParameterError(f"parameter {self.name!r} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ParameterError(f"parameter {self.name!r} must be an integer, got {value!r}")

    def grid(self) -> list[int]:
        """Every integer from low to high inclusive, step apart."""
        return list(range(self.low, self.high + 1, self.step or 1))


class FloatParameter(Parameter[float]):
    """A real-valued parameter (thresholds, multipliers, percentages)."""

    type_name = "float"

    def _coerce(self, value: object) -> float:
        if isinstance(value, bool):
            raise ParameterError(f"parameter {self.name!r} must be a number, got {value!r}")
        if isinstance(value, int | float | str):
            try:
                out = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(out):
                    return out
        raise ParameterError(f"parameter {self.name!r} must be a finite number, got {value!r}")

    def grid(self) -> list[float]:
        """low to high inclusive by step; just low and high without a step."""
        if not self.step:
            return [self.low, self.high] if self.high != self.low else [self.low]
        n = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return [round(self.low + k * self.step, 12) for k in range(n)]


class BoolParameter(Parameter[bool]):
    """An on/off switch; its grid is ``[False, True]``."""

    type_name = "bool"

    def __init__(self, *, default: bool, description: str = "") -> None:
        super().__init__(False, True, default=default, description=description)

    def _coerce(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
            return value.strip().lower() in {"true", "1"}
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ParameterError(f"parameter {self.name!r} must be true or false, got {value!r}")

    def grid(self) -> list[bool]:
        """False and True."""
        return [False, True]
