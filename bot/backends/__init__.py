"""Implementations of the ports in `bot.jobs` and friends, one package per backend."""
