"""gfsub's shared base: what every layer above agent_runtime needs and nothing that any of them owns.

errors (every error gfsub reports, by category), files (all-or-nothing output, content hashes), options (range
checks of command-line values), cache (where gfsub keeps venvs, wheels and logs), kaggle (the facts of the target:
the football environment, Kaggle's timing rules, its loader, its size limit).
"""

import os

VERSION = "0.2.0"

# Every gfsub process imports this package first: TensorFlow's C++ INFO/WARNING lines are off from here on (the
# rest of the third-party chatter goes to a log file while a command runs: gfsub/quiet.py).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
