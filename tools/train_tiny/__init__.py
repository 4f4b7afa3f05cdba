"""Trains the tiny speech model the ground-truth tests use (see train.py)."""
