"""The plotting style of ``tuner`` and ``explain``: mplhep's ROOT style, applied per figure.

Importing this module (or any plotting module of the toolkit) changes no global matplotlib state:
no backend is selected and no style or rcParam is set. :func:`styled` wraps a plotting function so
that it runs inside the style, and everything is as it was afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["RC", "save", "styled"]

#: rcParams on top of mplhep's ROOT style
RC = {"font.size": 14, "figure.figsize": (7, 6)}

F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Run a plotting function inside the toolkit's style, leaving the global style untouched."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib.pyplot as plt
        import mplhep

        with plt.style.context([mplhep.style.ROOT, RC]):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@styled
def save(fig: Any, path: Any, dpi: int = 90) -> None:
    """Write ``fig`` to ``path`` inside the style and close it. Math text (a log axis's tick
    labels) takes its fonts from the rcParams when the figure is drawn: drawn outside the style,
    matplotlib's own font set looks for a 'cursive' family that most Linux machines lack and logs
    two "findfont" warnings."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
