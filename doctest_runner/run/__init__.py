"""Orchestration: plans -> one fresh VM per guide -> verdicts -> reports."""
