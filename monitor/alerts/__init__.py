"""Alerts on negative-news bursts: detect (pure), lifecycle (pure), notify, and the alert job."""
