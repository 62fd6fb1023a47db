"""The run's charts: Plotly figures (`figures`), the sentences describing them (`alt_text`),
and their PNGs rendered by one headless browser (`rendering`, `browser`)."""
