"""The training job: read a table, search for the best model with FLAML, write the run's artifacts.

Nothing heavy is imported here: the bot imports `training.contracts`, and the bot's Lambda must
start fast. Heavy modules (pandas, FLAML, plotly) are imported by the modules that use them.
"""

import os

# OpenMP threads (LightGBM, XGBoost, scikit-learn) spin while they wait for work by default.
# On a machine whose other core is busy (the EDA report runs beside the search) that made a
# two-thread LightGBM 40x slower than one thread; passive waiting keeps it on par. It must be
# set before the first OpenMP library loads, which is why it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
