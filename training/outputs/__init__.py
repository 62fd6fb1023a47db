"""What a run gives people besides result.json: charts, the EDA report, the terminal display
and the events log."""
