"""Small helpers that both the bot and the training job need: files and logging.

- `files`: writing a file so readers never see half of it; the local path behind a URI.
- `logs`: the one logging set-up of every entry point.
- `spreadsheet`: text cells of CSVs for people that a spreadsheet would run as formulas.

The rule: this package imports the standard library only. The bot's Lambda bundle carries
it (scripts/bundle_bot.py) and the training image installs it (training/Dockerfile), so it
must stay small and must never pull in pydantic, pandas or anything else.
"""
