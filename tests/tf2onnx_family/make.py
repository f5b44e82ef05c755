"""Write a Keras policy's ONNX file with real tf2onnx (run by hand):

    python -m tests.tf2onnx_family.make --python PY    (from the repository root)

PY is an interpreter with TensorFlow 2.15 and tf2onnx (e.g. a venv: pip install tensorflow-cpu==2.15.1
tf2onnx==1.17.0 onnx==1.16.2). This process plays a real match and renders its SMM frames with gfootball; PY trains
the Keras net (tf.keras 2.15, as Kaggle competitors wrote theirs) on them for a few epochs to targets that depend on
them, and converts it with tf2onnx.convert.from_keras: NHWC convolutions become Transpose + Conv, Dense MatMul + Add.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.tf2onnx_family import FILES, NAME
from tests.torch_families.make import observations

OPSET = 15  # tf2onnx's default opset

TRAIN = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tf2onnx

data = np.load(sys.argv[1])
frames, targets = data["frames"], data["targets"]
tf.keras.utils.set_random_seed(0)
inputs = tf.keras.Input((72, 96, 4), name="smm")
x = tf.keras.layers.Rescaling(1 / 255.0)(inputs)
x = tf.keras.layers.Conv2D(16, 8, strides=4, activation="relu")(x)
x = tf.keras.layers.Conv2D(32, 4, strides=2, activation="relu")(x)
x = tf.keras.layers.MaxPooling2D(2)(x)
x = tf.keras.layers.Flatten()(x)
x = tf.keras.layers.Dense(64, activation="relu")(x)
outputs = tf.keras.layers.Dense(19, name="q")(x)
model = tf.keras.Model(inputs, outputs)
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
model.fit(frames, targets, epochs=8, batch_size=32, verbose=0)
spec = (tf.TensorSpec((None, 72, 96, 4), tf.float32, name="smm"),)
proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=int(sys.argv[3]), output_path=sys.argv[2])
print(json.dumps({"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__,
                  "ops": sorted({node.op_type for node in proto.graph.node})}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="an interpreter with TensorFlow 2.15 and tf2onnx")
    args = parser.parse_args()
    from gfootball.env import observation_preprocessing

    raws = observations()
    frames = observation_preprocessing.generate_smm(raws).astype(np.float32)
    # targets that depend on where the players and the ball are (an untrained net's argmax is nearly constant)
    rng = np.random.default_rng(0)
    pooled = frames.reshape(len(frames), 9, 8, 12, 8, 4).mean(axis=(2, 4)).reshape(len(frames), -1) / 255.0
    targets = np.tanh(pooled @ rng.normal(size=(pooled.shape[1], 19)) * 4).astype(np.float32) * 3
    FILES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data.npz"
        np.savez(data, frames=frames, targets=targets)
        done = subprocess.run([args.python, "-c", TRAIN, str(data), str(FILES / f"{NAME}.onnx"), str(OPSET)],
                              capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    made = json.loads(done.stdout.strip().splitlines()[-1])
    made.update({"exporter": "tf2onnx", "opset": OPSET, "inputs": ["smm"], "outputs": ["q"]})
    (FILES / "made.json").write_text(json.dumps({NAME: made}, indent=1) + "\n")
    print(NAME, made)


if __name__ == "__main__":
    main()
