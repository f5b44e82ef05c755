"""Write the PyTorch families' ONNX files with real torch exporters (run by hand, with torch installed):

    python -m tests.torch_families.make [NAME ...]   (from the repository root; torch 2.13 and onnxscript)

With names, only those families are written (made.json keeps the others' entries); each family's training is
seeded by its own name, so it does not depend on which others were made in the same run.

Each family is trained for a few hundred steps on the encoder's inputs of real engine observations, to targets that
depend on them (an untrained net's argmax is nearly constant and would hide a bug), then exported: the TorchScript
exporter (`dynamo=False`, opset 13, 17 or 20) or the dynamo exporter (opset 18 or 21; from opset 20 both write F.gelu
as the Gelu op). files/made.json records what wrote
each file; NAME.pt is the trained state_dict, for the benchmarks' torch rows; NAME.pt2 (PT2) the ExportedProgram.
The refused files are exported alike.
"""

import json
import random
import sys
import tempfile
import zlib

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from common.kaggle import make_football
from tests.torch_families import FILES, encoder_source

H = 32


class MaskedMLP(nn.Module):
    """LayerNorm MLP with GELU; illegal actions' logits set to -1e10 (x[mask == 0] = -1e10)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.norm = nn.Linear(36, 64), nn.LayerNorm(64)
        self.fc2, self.out = nn.Linear(64, 64), nn.Linear(64, 19)

    def forward(self, features, mask):
        x = F.gelu(self.fc2(F.relu(self.norm(self.fc1(features)))))
        logits = self.out(x)
        logits[mask == 0] = -1e10
        return logits


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.out = nn.Linear(36, 64), nn.Linear(64, 19)

    def forward(self, features):
        return self.out(F.gelu(self.fc1(features)))


class LSTMPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.lstm, self.out = nn.Linear(36, H), nn.LSTM(H, H, batch_first=True), nn.Linear(H, 19)

    def forward(self, features, h0, c0):
        y, (hn, cn) = self.lstm(F.relu(self.fc(features)).unsqueeze(1), (h0, c0))
        return self.out(y[:, 0]), hn, cn


class GRUPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.gru, self.out = nn.Linear(36, H), nn.GRU(H, H), nn.Linear(H, 19)

    def forward(self, features, h):
        y, h_out = self.gru(torch.tanh(self.fc(features)).unsqueeze(0), h)
        return self.out(y[0]), h_out


class Attention(nn.Module):
    """Player tokens: an embedding of team and role plus a projection of position and direction, BatchNorm, one
    self-attention block (MatMul, Softmax, Transpose), mean over the tokens."""

    def __init__(self):
        super().__init__()
        self.embed, self.project, self.norm = nn.Embedding(20, 16), nn.Linear(4, 16), nn.BatchNorm1d(16)
        self.q, self.k, self.v, self.out = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 19)

    def forward(self, ids, players):
        x = self.embed(ids) + self.project(players)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        weights = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) / 4.0, dim=-1)
        return self.out((weights @ self.v(x)).mean(dim=1))


class BiGRUWindow(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru, self.out = nn.GRU(36, 24, batch_first=True, bidirectional=True), nn.Linear(48, 19)

    def forward(self, window):
        y, _ = self.gru(window)
        return self.out(y[:, -1])


class ConvSMM(nn.Module):
    """Stacked SMM as the env gives it (72, 96, 16), channels moved first inside the model, /255."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(16, 8, 8, stride=4), nn.Conv2d(8, 16, 4, stride=2)
        self.pool, self.out = nn.AdaptiveAvgPool2d((3, 4)), nn.Linear(192, 19)

    def forward(self, smm):
        x = F.relu(self.c2(F.relu(self.c1(smm.permute(0, 3, 1, 2) / 255.0))))
        return self.out(torch.flatten(self.pool(x), 1))


class Sampling(MLP):
    def forward(self, features):
        return torch.multinomial(torch.softmax(super().forward(features), dim=-1), 1)


class CumSum(MLP):
    def forward(self, features):
        return torch.cumsum(super().forward(features), dim=-1)


class Branching(MLP):
    def forward(self, features):
        return torch.cond(features.sum() > 0, lambda x: super(Branching, self).forward(x),
                          lambda x: -super(Branching, self).forward(x), (features,))


# name: (model, encoder variant or an --observation, exporter, opset, inputs, outputs)
FAMILIES = {
    "mlp_mask_ts13": (MaskedMLP, "masked", "torchscript", 13, ["features", "mask"], ["logits"]),
    "mlp_mask_dynamo": (MaskedMLP, "masked", "dynamo", 18, ["features", "mask"], ["logits"]),
    "mlp_mask_ts20": (MaskedMLP, "masked", "torchscript", 20, ["features", "mask"], ["logits"]),
    "mlp_mask_dynamo21": (MaskedMLP, "masked", "dynamo", 21, ["features", "mask"], ["logits"]),
    "lstm_dynamo": (LSTMPolicy, "plain", "dynamo", 18, ["features", "h0", "c0"], ["logits", "hn", "cn"]),
    "gru_ts17": (GRUPolicy, "per_player", "torchscript", 17, ["features", "h"], ["logits", "h_out"]),
    "attention_dynamo": (Attention, "tokens", "dynamo", 18, ["ids", "players"], ["logits"]),
    "bigru_ts17": (BiGRUWindow, "window", "torchscript", 17, ["window"], ["logits"]),
    "conv_smm_dynamo": (ConvSMM, "smm:stack=4", "dynamo", 18, ["smm"], ["logits"]),
    "mlp_decide_dynamo": (MLP, "decided", "dynamo", 18, ["features"], ["logits"]),
}
REFUSED = {
    "refused_sampling": (Sampling, "plain", "torchscript", 17, ["features"], ["action"]),
    "refused_cumsum": (CumSum, "plain", "dynamo", 18, ["features"], ["logits"]),
    "refused_cond": (Branching, "plain", "dynamo", 18, ["features"], ["logits"]),
}


PT2 = ("lstm_dynamo",)  # also saved by torch.export.save, as NAME.pt2


def write_pt2(name: str, model: nn.Module, example: list) -> None:
    """The trained model as torch.export writes it: an ExportedProgram, no class code needed to load it."""
    torch.export.save(torch.export.export(model, tuple(example)), str(FILES / f"{name}.pt2"))


def observations(steps: int = 400) -> list:
    """Raw observations of both controlled players in a real match of seeded random actions."""
    rng = random.Random(0)

    def random_agent(obs, config=None):
        return [rng.randrange(19)]

    with tempfile.TemporaryDirectory() as logdir:
        env = make_football(steps=steps, logdir=logdir)
        played = env.run([random_agent, random_agent])
    return [state.observation.players_raw[0] for step in played[:-1] for state in step]


def model_inputs(variant: str, names: list, raws: list) -> list:
    """The model's inputs (without state) for each raw observation, stacked: by the encoder, or stacked SMM."""
    if ":" in variant:
        from gfootball.env import observation_preprocessing

        frames = observation_preprocessing.generate_smm(raws).astype(np.float32)
        return [torch.tensor(np.concatenate([frames] * 4, axis=-1))]
    namespace: dict = {}
    exec(encoder_source(variant), namespace)
    rows = []
    for raw in raws:
        encoded = namespace["encode"](raw)
        if isinstance(encoded, dict):
            encoded = [encoded[name] for name in names if name in encoded]
        rows.append(encoded if isinstance(encoded, list) else [encoded])
    return [torch.tensor(np.stack([row[i] for row in rows])) for i in range(len(rows[0]))]


def state_zeros(model: nn.Module, batch: int) -> list:
    if isinstance(model, LSTMPolicy):
        return [torch.zeros(1, batch, H), torch.zeros(1, batch, H)]
    if isinstance(model, GRUPolicy):
        return [torch.zeros(1, batch, H)]
    return []


def train(model: nn.Module, inputs: list, targets: torch.Tensor) -> None:
    """A few hundred Adam steps on logits -> targets (the mask all ones)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    fed = [torch.ones_like(x) if i == 1 and isinstance(model, MaskedMLP) else x for i, x in enumerate(inputs)]
    fed = fed[:1] if state_zeros(model, 1) else fed  # the state: zeros
    model.train()
    for _ in range(300):
        optimizer.zero_grad()
        out = model(*fed, *state_zeros(model, len(targets)))
        loss = F.mse_loss(out[0] if isinstance(out, tuple) else out, targets)
        loss.backward()
        optimizer.step()
    model.eval()


def export(name: str, model: nn.Module, example: list, exporter: str, opset: int, inputs: list,
           outputs: list) -> dict:
    path = FILES / f"{name}.onnx"
    if exporter == "dynamo":
        torch.onnx.export(model, tuple(example), str(path), dynamo=True, opset_version=opset, input_names=inputs,
                          output_names=outputs, external_data=name == "lstm_dynamo")
    else:
        torch.onnx.export(model, tuple(example), str(path), dynamo=False, opset_version=opset, input_names=inputs,
                          output_names=outputs)
    import onnx

    ops = sorted({node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node})
    return {"exporter": exporter, "opset": opset, "torch": torch.__version__, "inputs": inputs, "outputs": outputs,
            "ops": ops}


def main(names: list) -> None:
    chosen = {name: spec for name, spec in {**FAMILIES, **REFUSED}.items() if not names or name in names}
    unknown = sorted(set(names) - set(chosen))
    if unknown:
        sys.exit(f"no family named {', '.join(unknown)}: pick from {', '.join([*FAMILIES, *REFUSED])}")
    FILES.mkdir(exist_ok=True)
    raws = observations()
    feature_namespace: dict = {}
    exec(encoder_source("plain"), feature_namespace)
    features = np.stack([feature_namespace["encode"](raw) for raw in raws])
    targets = torch.tensor(np.tanh(features @ np.random.default_rng(0).normal(size=(36, 19))) * 3,
                           dtype=torch.float32)
    made = json.loads((FILES / "made.json").read_text()) if names and (FILES / "made.json").exists() else {}
    for name, (kind, variant, exporter, opset, inputs, outputs) in chosen.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        model = kind()
        data = model_inputs(variant, inputs, raws)
        if name in FAMILIES:
            train(model, data, targets)
        model.eval()
        example = [x[:1] for x in (data[:1] if state_zeros(model, 1) else data)] + state_zeros(model, 1)
        if name in FAMILIES:  # the original agent as torch runs it (benchmarks/bench_forward.py)
            torch.save(model.state_dict(), FILES / f"{name}.pt")
        if name in PT2:
            write_pt2(name, model, example)
        try:
            made[name] = export(name, model, example, exporter, opset, inputs, outputs)
        except Exception as exc:  # noqa: BLE001 - an exporter that cannot write a refused family: say so
            print(f"{name}: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
            continue
        print(name, made[name]["ops"])
    order = [*FAMILIES, *REFUSED]
    made = {name: made[name] for name in sorted(made, key=lambda name: order.index(name) if name in order else 99)}
    (FILES / "made.json").write_text(json.dumps(made, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
