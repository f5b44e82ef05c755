"""Ratings from match outcomes with openskill (Weng-Lin Plackett-Luce: draws, and an uncertainty per player).

Matches are rated in index order, whatever order they finished in, so a league's ratings do not depend on which
worker was fastest; a resumed league rates exactly as an uninterrupted one.
"""

from dataclasses import dataclass

from openskill.models import PlackettLuce


@dataclass
class Rating:
    mu: float  # the rating
    sigma: float  # its uncertainty (one standard deviation)

    @property
    def conservative(self) -> float:
        """mu - 3 sigma: a rating the player is very likely above (openskill's `ordinal`)."""
        return self.mu - 3.0 * self.sigma


def rate(names: list[str], games: list[tuple[str, str, float]]) -> dict[str, Rating]:
    """Ratings after `games` = [(a, b, score of a: 1 win, 0.5 draw, 0 loss)], played in that order."""
    model = PlackettLuce()
    ratings = {name: model.rating(name=name) for name in names}
    for a, b, score in games:
        ranks = [1, 1] if score == 0.5 else [1, 2] if score == 1.0 else [2, 1]
        [[ratings[a]], [ratings[b]]] = model.rate([[ratings[a]], [ratings[b]]], ranks=ranks)
    return {name: Rating(r.mu, r.sigma) for name, r in ratings.items()}
