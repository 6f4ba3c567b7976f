"""The strategy SDK: subclass :class:`Strategy`, declare parameters, implement ``generate``.

One class drives every path: the backtest engine and the optimiser call
``generate`` once over the whole history; the live strategy service calls
:func:`kwont_quant.seam.latest_signal` with a rolling window of closed candles, which runs
the very same ``generate`` and reads its last bar. See docs/strategies.md.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from kwont_quant.candles import Candles
from kwont_quant.errors import ParameterError
from kwont_quant.params import Parameter
from kwont_quant.signals import Signals, Stop


class Strategy:
    """Base class of every strategy (built-in or user file).

    Class attributes:
        INTERFACE_VERSION: the SDK contract this class is written against.
        name: registry name; defaults to the class name in snake_case.
        description: one line shown by ``describe_strategy``.
        stop_loss / take_profit: default :class:`~kwont_quant.signals.Stop` (or None).
        Any :class:`~kwont_quant.params.Parameter` attribute is a typed parameter.

    Override ``generate`` (required), and as needed ``warmup``, ``live_window`` and
    ``check``. Callbacks take keyword-friendly arguments so the SDK can add optional
    ones later without breaking user code.
    """

    INTERFACE_VERSION: ClassVar[int] = 1
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    stop_loss: ClassVar[Stop | None] = None
    take_profit: ClassVar[Stop | None] = None

    def __init__(self, **params: object) -> None:
        """Validate ``params`` against the declared parameters, defaults for the rest.

        Raises:
            ParameterError: an unknown name, a bad type, a value outside its range, or a
                rule of :meth:`check` (e.g. fast must be below slow).
        """
        specs = self.parameters()
        unknown = sorted(set(params) - set(specs))
        if unknown:
            known = ", ".join(specs) or "none"
            raise ParameterError(
                f"{self.strategy_name()}: unknown parameter(s) {', '.join(unknown)} "
                f"(known: {known})"
            )
        values = {
            key: spec.validate(params[key]) if key in params else spec.default
            for key, spec in specs.items()
        }
        self.__dict__["_params"] = values
        self.check()

    @classmethod
    def parameters(cls) -> dict[str, Parameter[Any]]:
        """The declared parameters, base classes first, in declaration order."""
        found: dict[str, Parameter[Any]] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Parameter):
                    found[key] = value
        return found

    @classmethod
    def strategy_name(cls) -> str:
        """``name`` if set, else the class name in snake_case."""
        return cls.name or re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the validated parameter values."""
        return dict(self.__dict__["_params"])

    def check(self) -> None:
        """Cross-parameter rules; raise ParameterError to refuse a combination."""

    def warmup(self) -> int:
        """Bars needed before the first signal can be trusted (no entries before it)."""
        return 0

    def live_window(self) -> int:
        """How many closed candles the live path passes to ``generate``.

        Enough for windowed indicators by default. Strategies using recursive ones
        (EMA, RSI, ATR, MACD) return more, so the seed has decayed to nothing. (Class
        level ATR stops are accounted for by the SDK; ATR stops returned from
        ``generate`` are covered only by this window.)
        """
        return self.warmup() + 2

    def generate(self, candles: Candles) -> Signals:
        """Compute indicators and signals over the whole of ``candles`` (vectorised).

        Must be causal: values at bar ``i`` may only use candles ``0..i``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"
