"""A feeds.yaml for the bundled sample site (demo/site_server.py), as the flow tests use it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from demo.site_server import DemoSite

SITE_MANIFEST = Path(__file__).resolve().parents[2] / "demo" / "site" / "README.md"


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


def manifest_stored_documents() -> int:
    """'French documents stored | **N**' of the sample site's README: what one full run stores."""
    found = re.search(r"\| French documents stored \| \*\*(\d+)\*\* \|", SITE_MANIFEST.read_text())
    if not found:
        raise RuntimeError(f"{SITE_MANIFEST} no longer states how many documents a run stores")
    return int(found.group(1))
