"""Optuna tuning of DDPG (and SB3 TD3 / SAC for comparison): search spaces, objective, studies and their CLI."""
