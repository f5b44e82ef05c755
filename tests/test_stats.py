"""Plain unit tests (no engine): time as Kaggle counts it, win-rate intervals, ratings, the league's schedule and
its arithmetic on typed match results."""

import random

import pytest
from scipy.stats import binomtest

from common.kaggle import ACT_TIMEOUT
from harness.league import LeagueConfig, build_league_report, fixtures, home_points, match_specs
from harness.participants import Participant
from harness.ratings import rate
from harness.results import MatchResult, MatchSpec
from harness.stats import wilson_interval
from harness.timing import overage, step_timing


@pytest.mark.parametrize("wins,trials", [(0, 1), (1, 1), (3, 7), (10, 20), (0, 50), (49, 50), (123, 400)])
def test_wilson_interval_matches_scipy(wins, trials):
    expected = binomtest(wins, trials).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(wins, trials)
    assert low == pytest.approx(expected.low, abs=2e-4) and high == pytest.approx(expected.high, abs=2e-4)


def test_no_trials_is_the_whole_interval():
    assert wilson_interval(0, 0) == [0.0, 1.0]


def test_overage_counts_only_what_is_over_the_limit():
    assert overage([0.1, 0.5, 0.7, 2.0]) == pytest.approx(0.2 + 1.5)
    assert overage([0.3, 0.3], slowdown=2.0) == pytest.approx(2 * (0.6 - ACT_TIMEOUT))


def test_step_timing_splits_step_1_and_projects_onto_a_full_match():
    rng = random.Random(1)
    later = [rng.uniform(0.001, 0.3) for _ in range(99)] + [0.6]
    timing = step_timing([4.0, *later], slowdown=1.0, full_match_steps=1001)
    assert timing.steps == 101 and timing.step1 == 4.0 and timing.max == 0.6 and timing.over_limit == 2
    assert timing.overage_used == pytest.approx(3.5 + 0.1)
    assert timing.projected_overage == pytest.approx(3.5 + 0.1 * 1000 / 100)
    assert timing.p50 == pytest.approx(sorted(later)[49] / 2 + sorted(later)[50] / 2)


def test_ratings_order_a_consistent_winner_first_and_draws_keep_equal_players_equal():
    ratings = rate(["a", "b", "c"], [("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 1.0)] * 5)
    assert ratings["a"].mu > ratings["b"].mu > ratings["c"].mu
    assert all(r.sigma < 25 / 3 for r in ratings.values())
    drawn = rate(["x", "y"], [("x", "y", 0.5)] * 4)
    assert drawn["x"].mu == pytest.approx(drawn["y"].mu) and drawn["x"].sigma < 25 / 3
    assert drawn["x"].conservative == pytest.approx(drawn["x"].mu - 3 * drawn["x"].sigma)


PEOPLE = [Participant("a/main.py", "/x/a/main.py", "1"), Participant("run_right", "run_right"),
          Participant("engine", "engine")]


def test_every_pair_plays_n_matches_with_sides_alternating_and_the_engine_never_the_candidate(tmp_path):
    config = LeagueConfig(PEOPLE, matches_per_pair=3, steps=10)
    specs = match_specs(config, tmp_path)
    assert config.total_matches == len(specs) == 9 and [s.index for s in specs] == list(range(9))
    assert all(s.candidate != "engine" for s in specs)
    pairs = [(f.home.name, f.away.name) for f in fixtures(config)]
    assert sorted(set(pairs)) == sorted({("a/main.py", "run_right"), ("a/main.py", "engine"),
                                         ("run_right", "engine")})
    assert [s.side for s in specs[:3]] == ["left", "right", "left"]
    assert all(s.isolated and not s.episode for s in specs) and len({s.seed for s in specs}) == 9


def _result(index: int, score: list, status: str = "DONE", opponent_status: str = "DONE") -> MatchResult:
    spec = MatchSpec(index=index, candidate="-", opponent="-", side="left", steps=10, seed=index, run_dir="-")
    return MatchResult(spec=spec, status=status, opponent_status=opponent_status, score=score)


def test_forfeits_lose_both_forfeiting_is_a_draw_and_a_dead_match_process_is_not_rated():
    assert home_points(_result(0, [0, 3], "TIMEOUT")) == (0.0, "forfeit")
    assert home_points(_result(0, [0, 3], opponent_status="ERROR")) == (1.0, "forfeit")
    assert home_points(_result(0, [0, 0], "ERROR", "INVALID")) == (0.5, "both forfeited")
    assert home_points(_result(0, [2, 1], "CRASHED"))[0] is None
    assert home_points(_result(0, [2, 2])) == (0.5, "")


def test_a_league_report_counts_from_both_sides_and_does_not_depend_on_finishing_order():
    config = LeagueConfig(PEOPLE, matches_per_pair=2, steps=10)
    played = [_result(0, [2, 0]), _result(1, [1, 1]), _result(2, [0, 1], "INVALID"), _result(3, [0, 0], "HUNG"),
              _result(4, [0, 4]), _result(5, [0, 1])]
    report = build_league_report(config, played)
    shuffled = build_league_report(config, list(reversed(played)))
    assert report.to_dict() == shuffled.to_dict()
    by_name = {s.name: s for s in report.standings}
    a, runner, engine = by_name["a/main.py"], by_name["run_right"], by_name["engine"]
    assert (a.wins, a.draws, a.losses, a.played) == (1, 1, 1, 3)  # match 3 is void
    assert (runner.wins, runner.draws, runner.losses) == (0, 1, 3)
    assert (engine.wins, engine.draws, engine.losses) == (3, 0, 0)
    assert a.forfeits == ["match 2: INVALID (vs engine)"] and report.void == ["match 3 (a/main.py vs engine): HUNG"]
    assert a.goals_for - a.goals_against == (2 + 1) - (1 + 0 + 1)
    first = report.pairs[0]
    assert (first.a, first.b, first.wins, first.draws, first.played) == ("a/main.py", "run_right", 1, 1, 2)
    assert report.standings[0].name == "engine" and report.finished == 6 and report.complete
