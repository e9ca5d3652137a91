"""Shanyu engine core: specs, commands, store, history, timers, calendar, sandbox.

Nothing in this package imports Flask; the web layer and the CLI call into it.
"""
