"""The training job: read a table, search for the best model with FLAML, write the run's artifacts.

Nothing heavy is imported here: the bot imports `training.contracts`, and the bot's Lambda must
start fast. Heavy modules (pandas, FLAML, plotly) are imported by the modules that use them.
"""
