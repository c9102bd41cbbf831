"""Reading the configuration files; their validation is pure and lives in `extractors/`."""

from __future__ import annotations

import os
from pathlib import Path

from extractors.errors import ConfigError
from extractors.feeds_config import FeedsConfig, parse_feeds_config
from extractors.watchlist import Watchlist, parse_watchlist

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FEEDS = PROJECT_ROOT / "config" / "feeds.yaml"
DEFAULT_WATCHLIST = PROJECT_ROOT / "config" / "watchlist.yaml"
WATCHLIST_ENV_VAR = "SAHELWATCH_WATCHLIST"
FEEDS_ENV_VAR = "SAHELWATCH_FEEDS"


def read_config_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), "", "file not found; pass the right path or create it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc}") from exc


def feeds_path(value: str | os.PathLike[str] | None) -> Path:
    return Path(value or os.environ.get(FEEDS_ENV_VAR) or DEFAULT_FEEDS)


def watchlist_path(value: str | os.PathLike[str] | None) -> Path:
    return Path(value or os.environ.get(WATCHLIST_ENV_VAR) or DEFAULT_WATCHLIST)


def load_feeds(value: str | os.PathLike[str] | None = None) -> FeedsConfig:
    path = feeds_path(value)
    return parse_feeds_config(read_config_text(path), str(path))


def load_watchlist(value: str | os.PathLike[str] | None = None) -> Watchlist:
    path = watchlist_path(value)
    return parse_watchlist(read_config_text(path), str(path))
