"""Scoring: model versions on disk (artifact), the registry, the classifier and the score job.

Submodules are imported on use: artifact and registry never import torch, so the dashboard
and the CLI can list and verify versions without loading a model.
"""
