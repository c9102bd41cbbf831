"""robots.txt as specified by RFC 9309, plus the common Crawl-delay extension.

Not `urllib.robotparser`: it applies the first matching rule instead of the longest one, so
"Disallow: /" followed by "Allow: /articles/" blocks the articles, which is the opposite of what
site owners mean and of what the major crawlers do; it also ignores `*` and `$` in paths and
matches user-agents by substring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

# RFC 9309 §2.5: crawlers must parse at least the first 500 KiB; the fetcher reads no more.
MAX_ROBOTS_BYTES = 500 * 1024
# Percent-escapes of unreserved characters are decoded so "/%7Enews" and "/~news" match alike;
# escapes of reserved characters ("%2F") keep their meaning and are left encoded.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Everything printable in ASCII stays as written; only spaces, controls and non-ASCII are escaped.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
# Where sites usually put their sitemaps when robots.txt names none: the protocol's own example
# (/sitemap.xml), the index most CMSs write (WordPress/Yoast, Drupal: /sitemap_index.xml) and the
# Google News sitemap many news plugins publish (/sitemap-news.xml).
DEFAULT_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/sitemap-news.xml")
# "User-agent: Googlebot/2.1 (+http://...)" names the product "googlebot".
_PRODUCT = re.compile(r"[A-Za-z_*-]+")


@dataclass(frozen=True, slots=True)
class _Rule:
    allow: bool
    pattern: str  # normalised; may contain * and a final $
    regex: re.Pattern[str]


@dataclass(slots=True)
class _Group:
    agents: list[str] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    crawl_delay: float | None = None


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The parsed file; `allow_all()` stands for a missing one, `disallow_all()` for an error."""

    groups: tuple[_Group, ...] = ()
    disallow_everything: bool = False

    @classmethod
    def allow_all(cls) -> RobotsRules:
        return cls()

    @classmethod
    def disallow_all(cls) -> RobotsRules:
        return cls(disallow_everything=True)

    def can_fetch(self, url: str, user_agent: str) -> bool:
        parts = urlsplit(url)
        query = f"?{_normalise(parts.query)}" if parts.query else ""
        path = _normalise(parts.path or "/") + query
        if path == "/robots.txt":
            return True  # RFC 9309 §2.2.2: always allowed
        if self.disallow_everything:
            return False
        best: _Rule | None = None
        for rule in self._rules_for(user_agent):
            if rule.regex.match(path) is None:
                continue
            if best is None or _beats(rule, best):
                best = rule
        return best is None or best.allow

    def crawl_delay(self, user_agent: str) -> float | None:
        delays = [g.crawl_delay for g in self._groups_for(user_agent) if g.crawl_delay is not None]
        return max(delays) if delays else None

    def _groups_for(self, user_agent: str) -> list[_Group]:
        """The groups naming our product token, else the `*` groups (RFC 9309 §2.2.1)."""
        token = product_token(user_agent)
        mine = [g for g in self.groups if token in g.agents]
        return mine or [g for g in self.groups if "*" in g.agents]

    def _rules_for(self, user_agent: str) -> list[_Rule]:
        return [rule for group in self._groups_for(user_agent) for rule in group.rules]


def product_token(user_agent: str) -> str:
    """ "sahelwatch/0.1 (+https://…)" → "sahelwatch", the name robots.txt files address."""
    match = _PRODUCT.match(user_agent.strip())
    return match.group(0).lower() if match else ""


def parse_robots(text: str) -> RobotsRules:
    """Never fails: unknown lines and malformed values are ignored, as RFC 9309 asks."""
    groups: list[_Group] = []
    current: _Group | None = None
    in_agent_lines = False
    for raw_line in text.splitlines():
        key, value = _split_line(raw_line)
        if key == "user-agent":
            if current is None or not in_agent_lines:
                current = _Group()
                groups.append(current)
            current.agents.append(product_token(value) or value.lower())
            in_agent_lines = True
        elif key in ("allow", "disallow") and current is not None:
            in_agent_lines = False
            if value:  # an empty Disallow allows everything: no rule at all
                current.rules.append(_make_rule(key == "allow", value))
        elif key == "crawl-delay" and current is not None:
            in_agent_lines = False
            current.crawl_delay = _parse_delay(value, current.crawl_delay)
    return RobotsRules(tuple(groups))


def sitemap_urls_from_robots(text: str, base: str) -> list[str]:
    """The `Sitemap:` lines (any case, outside any group), absolute, in order, each once."""
    urls: list[str] = []
    for raw_line in text.splitlines():
        key, value = _split_sitemap_line(raw_line)
        if key != "sitemap" or not value:
            continue
        url = urljoin(base, value)
        if urlsplit(url).scheme.lower() in ("http", "https") and url not in urls:
            urls.append(url)
    return urls


def default_sitemap_urls(site: str) -> list[str]:
    """Where to look for sitemaps when robots.txt names none (DEFAULT_SITEMAP_PATHS)."""
    return [urljoin(site, path) for path in DEFAULT_SITEMAP_PATHS]


def _split_sitemap_line(line: str) -> tuple[str, str]:
    """Like `_split_line`, but a '#' inside the URL is kept: only ' #' starts a comment."""
    if ":" not in line:
        return "", ""
    key, value = line.split(":", 1)
    value = re.split(r"\s#", value, maxsplit=1)[0]
    return key.strip().lower(), value.strip()


def _split_line(line: str) -> tuple[str, str]:
    content = line.split("#", 1)[0]
    if ":" not in content:
        return "", ""
    key, value = content.split(":", 1)
    return key.strip().lower().replace("_", "-"), value.strip()


def _make_rule(allow: bool, value: str) -> _Rule:
    pattern = _normalise(value)
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(piece) for piece in body.split("*"))
    return _Rule(allow, pattern, re.compile(regex + ("$" if anchored else "")))


def _beats(rule: _Rule, best: _Rule) -> bool:
    """The most specific (longest) pattern wins; on a tie, Allow wins (RFC 9309 §2.2.2)."""
    if len(rule.pattern) != len(best.pattern):
        return len(rule.pattern) > len(best.pattern)
    return rule.allow and not best.allow


def _parse_delay(value: str, previous: float | None) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return previous
    if delay != delay or delay < 0 or delay == float("inf"):  # NaN, negative, infinite
        return previous
    return delay


def _normalise(text: str) -> str:
    """One spelling for paths and patterns: non-ASCII escaped as UTF-8, hex in upper case."""
    quoted = quote(text, safe=_SAFE)

    def _unescape(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return chr(code) if code in _UNRESERVED else f"%{match.group(1).upper()}"

    return _ESCAPE.sub(_unescape, quoted)
