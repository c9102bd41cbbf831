"""A feeds.yaml for the bundled sample site (demo/site_server.py), as the flow tests use it."""

from __future__ import annotations

from pathlib import Path

import yaml

from demo.site_server import DemoSite


def write_feeds(site: DemoSite, path: Path) -> Path:
    """Every feed of the running site; the loopback host allowed, no politeness delay."""
    path.write_text(
        yaml.safe_dump(
            {
                "network": {
                    "allow_private_hosts": ["127.0.0.1"],
                    "min_host_delay": 0.0,
                    "backoff_base": 0.01,
                    "max_retries": 1,
                },
                "feeds": [{"name": f.name, "url": f.url} for f in site.feeds],
            }
        ),
        "utf-8",
    )
    return path
