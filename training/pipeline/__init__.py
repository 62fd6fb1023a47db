"""From a clean table to a trained model: the target and features prepared, the search over
model families, the ensemble and threshold, and the scores on rows the model never saw."""
