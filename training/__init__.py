"""The training job. Nothing heavy here: the bot's Lambda carries this package's contracts."""

import os

# Set before any OpenMP library loads: spinning waits made LightGBM 40x slower beside a busy core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
