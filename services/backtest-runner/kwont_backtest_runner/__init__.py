"""Kwont backtest-runner service: Runs backtest jobs in Docker sandboxes; publishes progress
and results.
"""
