"""A seeded corpus of realistic news pages for the end-to-end benchmark: files on disk.

Pages are 20–150 KB as real outlets serve them: a French article (generated from
tests/support/archive_fixtures.py's sentences) inside the furniture that makes pages big (menus,
a cookie banner, inline scripts and styles, related links, a comment thread, a footer of links).
About one page in ten is a wire copy of another outlet's article (same text, other furniture),
about one in ten is in English or Portuguese. Each outlet has its own template, its own host
(127.0.0.2, 127.0.0.3, …) and one RSS feed listing its items.

The corpus is written to a directory (pages and feeds as files, plus `manifest.json`), so that the
benchmark's own process never holds the page bytes: only the server process and the workers
that read them do.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from tests.support.archive_fixtures import _PLACES, _SENTENCES, _TITLES, _slots, _slugify

MIN_PAGE_BYTES, MAX_PAGE_BYTES = 20 * 1024, 150 * 1024  # what real article pages weigh
NON_FRENCH_SHARE = 0.10
WIRE_COPY_SHARE = 0.10
# Real articles run 300–1,200 words; the generated sentences average about 14 words.
MIN_SENTENCES, MAX_SENTENCES = 20, 80
FIRST_DAY = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
FIRST_HOST = 2  # 127.0.0.2: 127.0.0.1 stays for everything else on the machine

_ENGLISH = [
    "Officials in {place} announced new measures on Tuesday as the crisis deepened.",
    "According to local sources, {number} families have been affected so far.",
    "Aid agencies warned that access to the region remains extremely difficult.",
    "Residents said they were waiting for concrete help before the end of the month.",
    "The price of a bag of millet rose by {percent} percent in a single week.",
    "A convoy carrying food and medicine reached {place} after four days on the road.",
    "Teachers in {place} say classrooms now hold more than {number} pupils.",
    "Observers believe the government's response has come too late for many villages.",
]
_PORTUGUESE = [
    "As autoridades de {place} anunciaram novas medidas na terça-feira.",
    "Segundo fontes locais, {number} famílias foram afetadas até agora.",
    "As agências humanitárias alertaram que o acesso à região continua muito difícil.",
    "Os moradores disseram que esperam ajuda concreta antes do fim do mês.",
    "O preço do saco de milho subiu {percent} por cento numa única semana.",
    "Um comboio com alimentos e medicamentos chegou a {place} depois de quatro dias de estrada.",
    "Os professores de {place} dizem que as turmas têm agora mais de {number} alunos.",
]
_COMMENTS = [
    "Merci pour cet article très complet, on attend la suite.",
    "Toujours les mêmes promesses, rien ne change sur le terrain.",
    "Courage aux populations de la région, que Dieu nous protège.",
    "Il faudrait aussi parler des villages oubliés plus au nord.",
    "Article intéressant mais il manque les chiffres officiels.",
]
_MENU = [
    "Politique",
    "Économie",
    "Sécurité",
    "Société",
    "Culture",
    "Sport",
    "International",
    "Santé",
    "Éducation",
    "Environnement",
    "Opinions",
    "Vidéos",
    "Podcasts",
    "Régions",
    "Abonnez-vous",
]


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    file: str  # relative to the corpus directory
    feed: int
    language: str  # what the text was written in: fr, en or pt
    wire_of: int | None  # index of the page whose article this page copies


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    url: str
    file: str
    host: str


@dataclass(frozen=True, slots=True)
class Corpus:
    directory: Path
    port: int
    feeds: tuple[Feed, ...]
    pages: tuple[Page, ...]

    @property
    def hosts(self) -> list[str]:
        return sorted({f.host for f in self.feeds}, key=lambda h: int(h.rsplit(".", 1)[1]))

    def total_bytes(self) -> int:
        return sum((self.directory / p.file).stat().st_size for p in self.pages)


def host_address(n: int) -> str:
    """The n-th benchmark host: 127.0.0.2, 127.0.0.3, … (all of 127/8 is loopback on Linux)."""
    n += FIRST_HOST
    return f"127.0.{n // 256}.{n % 256}"


def generate(
    directory: Path, feeds: int, items: int, hosts: int, port: int, seed: int = 11
) -> Corpus:
    """`feeds` outlets' feeds of `items` pages each, spread over `hosts` addresses, on disk."""
    rng = random.Random(seed)
    (directory / "pages").mkdir(parents=True, exist_ok=True)
    (directory / "feeds").mkdir(exist_ok=True)
    feed_list, pages, articles = [], [], []
    for f in range(feeds):
        host = host_address(f % hosts)
        base = f"http://{host}:{port}"
        outlet = f"Le Sahel {f + 1:03d}"
        style = _Style(rng, f)
        entries = []
        for _ in range(items):
            n = len(pages)
            when = FIRST_DAY + timedelta(minutes=7 * n + rng.randint(0, 5))
            language, wire_of = "fr", None
            roll = rng.random()
            if roll < NON_FRENCH_SHARE:
                language = rng.choice(["en", "pt"])
                title, paragraphs = _article(rng, n, language)
            elif roll < NON_FRENCH_SHARE + WIRE_COPY_SHARE and articles:
                wire_of = rng.randrange(len(articles))
                title, paragraphs = articles[wire_of]
            else:
                title, paragraphs = _article(rng, n, "fr")
            articles.append((title, paragraphs))
            path = f"/{when:%Y/%m/%d}/{_slugify(title.split(' ')[0])}-{n:05d}.html"
            url = base + path
            body = style.page(rng, outlet, url, title, paragraphs, when, language)
            file = f"pages/{n:05d}.html"
            (directory / file).write_bytes(body)
            pages.append(Page(url, file, f, language, wire_of))
            entries.append((title, url, when, paragraphs[0]))
        feed_file = f"feeds/{f:04d}.xml"
        feed_url = f"{base}/feed-{f:04d}.xml"
        (directory / feed_file).write_bytes(_rss(outlet, base, entries))
        feed_list.append(Feed(outlet, feed_url, feed_file, host))
    corpus = Corpus(directory, port, tuple(feed_list), tuple(pages))
    manifest = {
        "port": port,
        "feeds": [asdict(f) for f in corpus.feeds],
        "pages": [asdict(p) for p in corpus.pages],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return corpus


def load(directory: Path) -> Corpus:
    raw = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    feeds = tuple(Feed(**f) for f in raw["feeds"])
    return Corpus(directory, raw["port"], feeds, tuple(Page(**p) for p in raw["pages"]))


def _article(rng: random.Random, n: int, language: str) -> tuple[str, tuple[str, ...]]:
    place = rng.choice(_PLACES)
    bank = {"fr": _SENTENCES, "en": _ENGLISH, "pt": _PORTUGUESE}[language]
    if language == "fr":
        title = rng.choice(_TITLES).format(**_slots(rng, place))
        first = f"Cet article numéro {n + 1} a été rédigé par notre correspondant à {place}."
    else:
        title = f"{place}: " + rng.choice(bank).format(**_slots(rng, place)).rstrip(".")
        first = f"Report number {n + 1} from {place}, by our correspondent in the region."
    title = title[0].upper() + title[1:]
    sentences = [first] + [
        rng.choice(bank).format(**_slots(rng, place))
        for _ in range(rng.randint(MIN_SENTENCES, MAX_SENTENCES))
    ]
    size = rng.randint(2, 5)
    paragraphs = [" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size)]
    return title, tuple(paragraphs)


class _Style:
    """One outlet's template: its class names and how much furniture surrounds the article."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.prefix = rng.choice(["td", "jeg", "elementor", "site", "c", "wp-block"]) + str(n)
        self.menu_items = rng.randint(12, 60)
        self.script_kb = rng.randint(5, 60)

    def page(
        self,
        rng: random.Random,
        outlet: str,
        url: str,
        title: str,
        paragraphs: tuple[str, ...],
        when: datetime,
        language: str,
    ) -> bytes:
        p = self.prefix
        target = rng.randint(MIN_PAGE_BYTES, MAX_PAGE_BYTES)
        lang = {"fr": "fr-FR", "en": "en-GB", "pt": "pt-PT"}[language]
        head = (
            f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(title)} - {outlet}</title>"
            f'<meta property="og:title" content="{escape(title)}">'
            f'<meta property="og:url" content="{url}"><link rel="canonical" href="{url}">'
            f'<meta property="article:published_time" content="{when.isoformat()}">'
            f'<meta name="author" content="Rédaction {outlet}">'
            f"<style>{self._css(rng)}</style>"
            f'<script type="application/ld+json">{{"@type":"NewsArticle","headline":'
            f'"{escape(title)}","datePublished":"{when.isoformat()}"}}</script>'
            f"<script>{self._script(rng, self.script_kb * 512)}</script></head>"
        )
        nav = "".join(
            f'<li class="{p}-menu-item"><a href="/rubrique/{i}/">{rng.choice(_MENU)}</a>'
            f'<ul class="{p}-sub"><li><a href="/rubrique/{i}/a">{rng.choice(_MENU)}</a></li></ul>'
            f"</li>"
            for i in range(self.menu_items)
        )
        cookie = (
            f'<div id="{p}-cookie" class="cookie-banner"><p>Nous utilisons des cookies pour '
            "améliorer votre expérience, mesurer l'audience et vous proposer des contenus "
            "personnalisés.</p><button>Accepter</button><button>Paramétrer</button></div>"
        )
        article = "".join(f"<p>{escape(x)}</p>" for x in paragraphs)
        body = (
            f'<body class="{p}-single"><header class="{p}-header"><div class="{p}-logo">'
            f'<a href="/">{outlet}</a></div><nav class="{p}-nav"><ul>{nav}</ul></nav></header>'
            f'{cookie}<main class="{p}-main"><article class="{p}-post">'
            f'<h1 class="{p}-title">{escape(title)}</h1><div class="{p}-meta">Publié le '
            f'{when:%d/%m/%Y à %H:%M}</div><div class="{p}-content">{article}</div>'
            f'<div class="{p}-share"><a href="#">Facebook</a><a href="#">X</a>'
            f'<a href="#">WhatsApp</a></div></article>'
        )
        tail = "</main>" + self._footer(rng) + "</body></html>"
        filler = []
        size = len(head) + len(body) + len(tail)
        while size < target:  # related links and comments until the page weighs what it should
            block = self._related(rng) if rng.random() < 0.6 else self._comments(rng)
            filler.append(block)
            size += len(block)
        return (head + body + "".join(filler) + tail).encode("utf-8")

    def _css(self, rng: random.Random) -> str:
        rules = (
            f".{self.prefix}-c{i}{{margin:{i % 7}px;padding:{i % 5}px;"
            f"color:#{i * 2654435 % 0xFFFFFF:06x}}}"
            for i in range(rng.randint(50, 200))
        )
        return "".join(rules)

    def _script(self, rng: random.Random, chars: int) -> str:
        parts, size = [], 0
        while size < chars:
            line = (
                f"window.__d{size}={{k:'{rng.getrandbits(64):016x}',v:[{rng.randint(0, 9999)}]}};"
            )
            parts.append(line)
            size += len(line)
        return "".join(parts)

    def _related(self, rng: random.Random) -> str:
        p = self.prefix
        links = "".join(
            f'<li class="{p}-related-item"><a href="/{rng.randint(2020, 2026)}/{rng.randint(1, 12)}'
            f'/{rng.getrandbits(32):x}.html"><img src="/img/{rng.getrandbits(32):x}.jpg" alt="">'
            f"<span>{escape(rng.choice(_TITLES).format(**_slots(rng, rng.choice(_PLACES))))}"
            "</span></a></li>"
            for _ in range(rng.randint(6, 15))
        )
        return f'<aside class="{p}-related"><h3>À lire aussi</h3><ul>{links}</ul></aside>'

    def _comments(self, rng: random.Random) -> str:
        p = self.prefix
        items = "".join(
            f'<li class="{p}-comment"><div class="{p}-comment-author">Lecteur{rng.randint(1, 999)}'
            f'</div><div class="{p}-comment-body"><p>{rng.choice(_COMMENTS)}</p></div>'
            '<a class="reply" href="#">Répondre</a></li>'
            for _ in range(rng.randint(3, 12))
        )
        return (
            f'<section id="comments" class="{p}-comments"><h3>Commentaires</h3>'
            f"<ol>{items}</ol></section>"
        )

    def _footer(self, rng: random.Random) -> str:
        links = "".join(f'<li><a href="/page/{i}/">{rng.choice(_MENU)}</a></li>' for i in range(40))
        return (
            f'<footer class="{self.prefix}-footer"><ul>{links}</ul><p>© 2026 Tous droits '
            "réservés. Mentions légales. Politique de confidentialité.</p></footer>"
        )


def _rss(outlet: str, base: str, entries: list[tuple[str, str, datetime, str]]) -> bytes:
    items = "".join(
        f"<item><title>{xml_escape(title)}</title><link>{xml_escape(url)}</link>"
        f"<guid>{xml_escape(url)}</guid><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{xml_escape(lede[:300])}</description></item>"
        for title, url, when, lede in reversed(entries)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{xml_escape(outlet)}</title><link>{base}/</link>{items}</channel></rss>"
    ).encode()
