"""`gfsub league`: which candidate is best, and by how much?

Round robin: every pair of participants plays `matches_per_pair` matches with sides alternated, each match in its
own process (locally or as a Ray task), every file agent in its own agent process so that two agents' helper
modules never meet. A forfeit (ERROR, INVALID, TIMEOUT) loses the match, as on Kaggle. Ratings come from openskill;
each pair gets W/D/L, goal difference and a win rate with its 95 % interval.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from common.kaggle import FULL_MATCH_STEPS, SCENARIO
from common.options import validate_range
from harness.check import default_match_timeout
from harness.isolation import UNSANDBOXED, describe
from harness.participants import ENGINE, Participant
from harness.pools import play_run
from harness.progress import Watcher
from harness.ratings import rate
from harness.results import CANDIDATE_FORFEITS, FORFEITS, MatchResult, MatchSpec
from harness.stats import wilson_interval
from harness.wanted import Choices
from runtimes.registry import get_spec

VOID = ("HUNG", "CRASHED")  # the match process died or was killed: nobody can be blamed, the match is not rated


@dataclass
class LeagueConfig:
    """The settings of a league run (run.json): a resumed run must have the same."""

    participants: list[Participant]
    matches_per_pair: int
    steps: int = FULL_MATCH_STEPS
    scenario: str = SCENARIO
    seed: int = 0
    runtime: str = "current"
    match_timeout: float = 0.0  # 0: default_match_timeout(steps)
    sandbox: "dict | None" = None  # the limits every file agent plays under (Limits); None: unsandboxed

    def __post_init__(self) -> None:
        self.participants = [p if isinstance(p, Participant) else Participant(**p) for p in self.participants]
        self.match_timeout = self.match_timeout or default_match_timeout(self.steps)

    @property
    def total_matches(self) -> int:
        n = len(self.participants)
        return n * (n - 1) // 2 * self.matches_per_pair


def default_run_dir(config: LeagueConfig) -> Path:
    """runs/league-<settings hash>: the same league resumes there, another league gets its own folder."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    return Path("runs") / f"league-{digest[:12]}"


def validate_league_options(*, matches_per_pair: int, steps: int, seed: int, jobs: "int | None") -> None:
    validate_range("--matches-per-pair", matches_per_pair, 1)
    validate_range("--steps", steps, 1, FULL_MATCH_STEPS)
    validate_range("--seed", seed, 0)
    if jobs is not None:
        validate_range("--jobs", jobs, 1)


def make_league_config(participants: list[Participant], *, matches_per_pair: int, steps: int, scenario: str,
                       seed: int, runtime: str = "current", jobs: "int | None" = None,
                       sandbox: "dict | None" = None) -> LeagueConfig:
    """`sandbox`: what harness.isolation.sandbox_limits made of the options (the participants were probed in it)."""
    validate_league_options(matches_per_pair=matches_per_pair, steps=steps, seed=seed, jobs=jobs)
    get_spec(runtime)  # an unknown runtime fails here, before anything is written
    return LeagueConfig(participants, matches_per_pair, steps, scenario, seed, runtime, sandbox=sandbox)


def agents_per_match(config: LeagueConfig) -> int:
    """The most file agents a match of this league has (2, or 1 when only one participant is a file)."""
    return min(2, sum(1 for p in config.participants if p.is_file))


@dataclass(frozen=True)
class Fixture:
    """Who plays whom in match `index`: `home` is the spec's candidate (never the engine)."""

    index: int
    home: Participant
    away: Participant


def fixtures(config: LeagueConfig) -> list[Fixture]:
    """Every pair, `matches_per_pair` times; within a pair the sides alternate (MatchSpec.side)."""
    found = []
    for first, second in combinations(config.participants, 2):
        home, away = (second, first) if first.agent == ENGINE else (first, second)
        for _ in range(config.matches_per_pair):
            found.append(Fixture(len(found), home, away))
    return found


def match_specs(config: LeagueConfig, run_dir: Path) -> list[MatchSpec]:
    per_pair = config.matches_per_pair
    return [MatchSpec(index=f.index, candidate=f.home.agent, opponent=f.away.agent,
                      side="left" if (f.index % per_pair) % 2 == 0 else "right", steps=config.steps,
                      seed=config.seed + f.index, run_dir=str(run_dir), runtime=config.runtime,
                      isolated=True, sandbox=config.sandbox, episode=False, scenario=config.scenario)
            for f in fixtures(config)]


# ----- the report ---------------------------------------------------------------------------------------------
@dataclass
class Standing:
    name: str
    rating: float
    uncertainty: float
    conservative: float  # rating - 3 x uncertainty: the standings' order
    played: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    goals_for: int = 0
    goals_against: int = 0
    forfeits: list = field(default_factory=list)  # "match 7: TIMEOUT (vs run_right)"
    choices: "Choices | None" = None  # what a gfsub main.py wanted over its matches; None for other agents


@dataclass
class PairRecord:
    """From `a`'s side: its wins, draws, losses and goals against `b`."""

    a: str
    b: str
    played: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    goal_difference: int = 0
    win_rate: float = 0.0
    win_rate_95ci: list = field(default_factory=lambda: [0.0, 1.0])


@dataclass
class LeagueMatch:
    index: int
    home: str
    away: str
    home_side: str
    score: list  # [home, away]
    home_status: str
    away_status: str
    home_points: "float | None"  # 1 win, 0.5 draw, 0 loss; None: void (not rated)
    note: str = ""
    home_reason: str = ""  # why a side forfeited, in one line ("memory limit 4 GB exceeded")
    away_reason: str = ""


@dataclass
class LeagueReport:
    config: LeagueConfig
    finished: int
    total: int
    interrupted: bool
    standings: list[Standing]
    pairs: list[PairRecord]  # each pair once, from the side of the participant listed first
    matches: list[LeagueMatch]
    void: list = field(default_factory=list)
    isolation: str = UNSANDBOXED  # "sandboxed: memory 4 GB, 1 CPU, ..." or "unsandboxed"

    @property
    def complete(self) -> bool:
        return self.finished == self.total

    def to_dict(self) -> dict:
        return {**asdict(self), "complete": self.complete}


def home_points(result: MatchResult) -> "tuple[float | None, str]":
    """(points for the home side, a note). Forfeits lose, as on Kaggle; both forfeiting is a draw."""
    if result.status in VOID:
        return None, f"{result.status}: not rated"
    home_forfeit = result.status in CANDIDATE_FORFEITS
    away_forfeit = result.opponent_status in FORFEITS
    if home_forfeit and away_forfeit:
        return 0.5, "both forfeited"
    if home_forfeit or away_forfeit:
        return (0.0 if home_forfeit else 1.0), "forfeit"
    own, other = result.score
    return (1.0 if own > other else 0.0 if own < other else 0.5), ""


def build_league_report(config: LeagueConfig, results: list[MatchResult], interrupted: bool = False
                        ) -> LeagueReport:
    by_index = {f.index: f for f in fixtures(config)}
    names = [p.name for p in config.participants]
    standings = {name: Standing(name, 0.0, 0.0, 0.0) for name in names}
    pairs = {}
    matches, void, games = [], [], []
    for result in sorted(results, key=lambda r: r.index):
        fixture = by_index[result.index]
        home, away = fixture.home.name, fixture.away.name
        points, note = home_points(result)
        reasons = result.forfeit_reason(candidate=True), result.forfeit_reason(candidate=False)
        matches.append(LeagueMatch(result.index, home, away, result.spec.side, list(result.score), result.status,
                                   result.opponent_status, points, note, *reasons))
        for name, wanted in ((home, result.wanted), (away, result.opponent_wanted)):
            standings[name].choices = Choices.add(standings[name].choices, wanted)
        for name, status, opponent, reason in ((home, result.status, away, reasons[0]),
                                               (away, result.opponent_status, home, reasons[1])):
            if status in FORFEITS:
                why = f": {reason}" if reason else ""
                standings[name].forfeits.append(f"match {result.index}: {status} (vs {opponent}){why}")
        if points is None:
            void.append(f"match {result.index} ({home} vs {away}): {result.status}")
            continue
        games.append((home, away, points))
        for a, b, a_points, a_goals, b_goals in ((home, away, points, *result.score),
                                                 (away, home, 1.0 - points, result.score[1], result.score[0])):
            standing = _tally(standings[a], a_points)
            standing.goals_for += a_goals
            standing.goals_against += b_goals
            _tally(pairs.setdefault((a, b), PairRecord(a, b)), a_points).goal_difference += a_goals - b_goals
    for name, rating in rate(names, games).items():
        standing = standings[name]
        standing.rating, standing.uncertainty, standing.conservative = rating.mu, rating.sigma, rating.conservative
    for record in pairs.values():
        record.win_rate = record.wins / record.played
        record.win_rate_95ci = wilson_interval(record.wins, record.played)
    order = sorted(standings.values(), key=lambda s: -s.conservative)
    pair_list = [pairs[(a, b)] for i, a in enumerate(names) for b in names[i + 1:] if (a, b) in pairs]
    return LeagueReport(config, len(results), config.total_matches, interrupted, order, pair_list, matches, void,
                        describe(config.sandbox))


def _tally(record, points: float):
    """Count one match (points 1 / 0.5 / 0) in a Standing or PairRecord; -> the record."""
    record.played += 1
    record.wins += points == 1.0
    record.draws += points == 0.5
    record.losses += points == 0.0
    return record


# ----- the run ------------------------------------------------------------------------------------------------
def run_league(config: LeagueConfig, run_dir: Path, pool, *, resume: bool = False,
               watcher: "Watcher | None" = None) -> LeagueReport:
    """Play the league's missing matches on `pool` (LocalPool or RayPool), recording each as it finishes;
    -> the report, also written to report.json (RunInterrupted on Ctrl-C, as for a check)."""
    return play_run(pool, match_specs(config, run_dir), run_dir, kind="league", settings=asdict(config),
                    resume=resume, watcher=watcher,
                    make_report=lambda results, interrupted: build_league_report(config, results, interrupted))
