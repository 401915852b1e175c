"""GP-Hedge: a portfolio of acquisition functions, one chosen per ask by how well its past nominees
did (Hoffman, Brochu, de Freitas, "Portfolio Allocation for Bayesian Optimization", UAI 2011).

At each ask every member (:data:`HEDGE_MEMBERS`: log-EI, PI, LCB) proposes its maximiser, its
nominee. One nominee is evaluated, drawn with probability ``softmax(eta * gain)``; a member's gain
is the sum, over every earlier ask, of the surrogate's current posterior mean at its nominee there
(maximisation convention: a member whose nominees the model now rates well gains). Two choices
differ from scikit-optimize's ``gp_hedge``:

* the gains are recomputed at each ask from the current model (not accumulated under the models of
  their day), so they follow from the nominees alone and need no state beyond them;
* the means are divided by the spread of the posterior mean over the evaluated points, so that
  ``eta`` means the same whatever the objective's units (scikit-optimize adds raw values: on an
  objective in the thousands its hedge always picks the current leader, on one in thousandths it
  draws uniformly).

The nominees live with the optimiser (pickled with it by ``dump``) and in its storage's meta
(:meth:`Hedge.state`), so a study resumed from SQLite keeps its gains; batches or asks beside
pending points do not consult the portfolio (they take log-EI's family).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tuner.surrogate.gp import gp_settings

__all__ = ["HEDGE_MEMBERS", "Hedge"]

#: the portfolio, by :data:`tuner.acquisition.functions.ACQ_FUNCS` name
HEDGE_MEMBERS = ("LogEI", "PI", "LCB")


class Hedge:
    """The nominees of a GP-Hedge portfolio and the choice among them.

    Args:
        eta: Inverse temperature of the softmax over the gains (scikit-optimize's default 1).
    """

    def __init__(self, eta: float = 1.0) -> None:
        self.eta = eta
        self.nominees: list[np.ndarray] = []  # one (members x d) array of model coordinates per ask
        self.chosen: list[int] = []

    def state(self) -> dict[str, Any]:
        """The nominees and choices as JSON-able lists (what a storage keeps)."""
        return {"nominees": [n.tolist() for n in self.nominees], "chosen": list(self.chosen)}

    def restore(self, state: dict[str, Any] | None) -> None:
        """Take back what :meth:`state` gave (``None``: nothing stored, keep the empty portfolio)."""
        if state:
            self.nominees = [np.asarray(n, dtype=float) for n in state["nominees"]]
            self.chosen = [int(i) for i in state["chosen"]]

    def gains(self, model: Any, X: torch.Tensor) -> np.ndarray:
        """Each member's gain under ``model``: the posterior mean (divided by its spread over the
        evaluated points ``X``) at the member's nominees, summed over the earlier asks."""
        k = len(HEDGE_MEMBERS)
        if not self.nominees:
            return np.zeros(k)
        pts = torch.as_tensor(np.concatenate(self.nominees), dtype=X.dtype, device=X.device)
        with torch.no_grad(), gp_settings():
            mu = model.posterior(pts).mean.reshape(-1).cpu().numpy()
            base = model.posterior(X).mean.reshape(-1).cpu().numpy()
        spread = float(np.std(base)) if len(base) > 1 else 0.0
        mu = mu / (spread if spread > 0 and np.isfinite(spread) else 1.0)
        return np.nan_to_num(mu.reshape(-1, k), nan=0.0).sum(axis=0)

    def probabilities(self, model: Any, X: torch.Tensor) -> np.ndarray:
        """``softmax(eta * gains)`` over the members."""
        g = self.eta * self.gains(model, X)
        p = np.exp(g - g.max())
        return p / p.sum()

    def choose(self, model: Any, X: torch.Tensor, nominees: np.ndarray, key: tuple[int, ...]) -> int:
        """Draw the member whose nominee is evaluated (numpy seed ``key``), then remember this
        ask's ``nominees`` (``members x d``, model coordinates) for the gains of later asks."""
        p = self.probabilities(model, X)
        i = int(np.random.default_rng(key).choice(len(p), p=p))
        self.nominees.append(np.asarray(nominees, dtype=float))
        self.chosen.append(i)
        return i
