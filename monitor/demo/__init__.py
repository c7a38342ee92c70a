"""The offline demo newswire: fictional financial RSS feeds served over 127.0.0.1.

Every headline, company and person in this package was written for FinSentinel, not copied
from any publisher or dataset. newswire.py generates items (pure), rss.py renders them,
server.py serves them, demo_config.py writes a config.toml that points the monitor at them.
"""
