"""What one match produced, as the harness hands it on: written to results.jsonl per match, read back typed."""

from dataclasses import asdict, dataclass, field, fields

from common.kaggle import FORFEITS, SCENARIO

# What a candidate can also do to lose: HUNG (killed at the wall-clock bound), CRASHED (the match process died).
CANDIDATE_FORFEITS = FORFEITS + ("HUNG", "CRASHED")


@dataclass
class MatchSpec:
    """One match to play: the candidate (a main.py path, or a built-in agent name) against the opponent."""

    index: int
    candidate: str
    opponent: str  # engine | do_nothing | run_right | self | path to another main.py
    side: str  # the candidate's: left | right
    steps: int
    seed: int
    run_dir: str
    video: bool = False  # save the engine's own rendering, match-NNN.webm (rendering costs ~3x the match)
    runtime: str = "current"  # where file agents run: "current" loads the candidate in the match process
    isolated: bool = False  # each file agent in its own process (league: helper modules of two agents never meet)
    sandbox: "dict | None" = None  # Limits: every file agent in a sandbox of its own (None: unsandboxed)
    episode: bool = True  # write match-NNN.json (the episode as kaggle-environments records it)
    scenario: str = SCENARIO


@dataclass
class MatchResult:
    """A played (or failed) match, from the candidate's side: score is [candidate, opponent]."""

    spec: MatchSpec
    status: str  # the candidate's final status: DONE, or a forfeit
    opponent_status: str = ""
    score: list = field(default_factory=lambda: [0, 0])
    played_steps: int = 0
    durations: list = field(default_factory=list)  # the candidate's per-step seconds, step 1 (the load) first
    stderr: str = ""
    opponent_stderr: str = ""  # when the opponent is another main.py hosted in its own process
    reason: str = ""  # one line, when the candidate forfeited: "memory limit 4 GB exceeded", "raised KeyError: ..."
    opponent_reason: str = ""
    debug_info: str = ""
    episode: "str | None" = None
    video: "str | None" = None
    video_note: str = ""
    runtime_versions: str = ""
    runtime_overhead_p50: "float | None" = None
    wall: float = 0.0  # seconds the match process ran
    wanted: "dict | None" = None  # what a gfsub candidate wanted per step (wanted.compact); None for other agents
    opponent_wanted: "dict | None" = None

    @property
    def index(self) -> int:
        return self.spec.index

    def outcome(self) -> tuple:
        """(win | draw | loss, who forfeited: candidate | opponent | None). A forfeit loses, as on Kaggle."""
        if self.status in CANDIDATE_FORFEITS:
            return "loss", "candidate"
        if self.opponent_status in FORFEITS:
            return "win", "opponent"
        own, opponent = self.score
        return ("win" if own > opponent else "loss" if own < opponent else "draw"), None

    def forfeit_reason(self, candidate: bool = True) -> str:
        """Why that side forfeited, in one line: its process's verdict ("memory limit 4 GB exceeded", "killed by
        signal 9 at step 20"), else the last line of what it printed; '' when it did not forfeit."""
        status = self.status if candidate else self.opponent_status
        if status not in (CANDIDATE_FORFEITS if candidate else FORFEITS):
            return ""
        reason = self.reason if candidate else self.opponent_reason
        if reason:
            return reason
        lines = (self.stderr if candidate else self.opponent_stderr).strip().splitlines()
        return lines[-1][:300] if lines else ""

    def to_dict(self) -> dict:
        """One results.jsonl line: the spec's fields and the result's, flat."""
        data = asdict(self)
        return {**data.pop("spec"), **data}

    @classmethod
    def from_dict(cls, data: dict) -> "MatchResult":
        """Read a results.jsonl line (unknown keys from other gfsub versions are ignored)."""
        spec_names = {f.name for f in fields(MatchSpec)}
        result_names = {f.name for f in fields(cls)} - {"spec"}
        spec = MatchSpec(**{k: v for k, v in data.items() if k in spec_names})
        return cls(spec=spec, **{k: v for k, v in data.items() if k in result_names})

    @classmethod
    def unfinished(cls, spec: MatchSpec, status: str, stderr: str) -> "MatchResult":
        """A match whose process did not report a result (HUNG, CRASHED)."""
        return cls(spec=spec, status=status, stderr=stderr)
