"""Generated outlet archives for backfill tests: a site with sitemaps, a paged feed, saved pages
and a WARC file, all from one seeded list of made-up French articles.

Every generator returns a manifest holding the figures a test needs (which URLs each source
lists, which of them fall in a window, how many WARC records are not pages…), so expectations are
computed from the manifest, never typed by hand.

    articles = make_articles(seed=7)                      # 36 articles, Jan–Jun 2024
    site = serve_outlet_site(server, articles)            # HttpTestServer: pages, robots, sitemaps
    feed = serve_paged_feed(server, articles)             # /feed/?paged=N, 404 past the end
    saved = write_saved_pages(tmp_path / "saved", articles)
    warc = write_warc(tmp_path / "crawl.warc.gz", articles, site.base_url)
    site.published_in(since, until)                       # URLs a backfill should find
"""

from __future__ import annotations

import gzip
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from tests.support.http_server import HttpTestServer

FIRST_DAY = datetime(2024, 1, 3, 7, 0, tzinfo=UTC)
# Articles are this many hours apart on average: about six a month over half a year.
HOURS_APART = 116
DEFAULT_ARTICLES = 36
MIN_WORDS, MAX_WORDS = 150, 400
# Every EDITED_EVERY-th article was edited EDITED_AFTER later: its sitemap lastmod is later than
# its publication, which is the case the date-window rule must not mistake for a late article.
EDITED_EVERY = 4
EDITED_AFTER = timedelta(days=45)
NEWS_SITEMAP_DAYS = 30  # Google News sitemaps list the last two days; here a month, to test more
FEED_PAGE_SIZE = 10  # WordPress's default "posts per RSS page"

_PLACES = [
    "Gao",
    "Tombouctou",
    "Mopti",
    "Ségou",
    "Kayes",
    "Niamey",
    "Tillabéri",
    "Agadez",
    "Zinder",
    "Dori",
    "Djibo",
    "Kaya",
    "Ouahigouya",
    "Fada N'Gourma",
    "N'Djamena",
    "Abéché",
    "Nouakchott",
    "Néma",
    "Bamako",
    "Diffa",
    "Maradi",
    "Koutiala",
    "Sikasso",
    "Tahoua",
]
_SUBJECTS = [
    "les autorités locales",
    "le gouverneur de la région",
    "les services de santé",
    "une délégation ministérielle",
    "les organisations humanitaires",
    "les chefs coutumiers",
    "les éleveurs de la zone",
    "le comité de gestion de crise",
    "les enseignants",
    "les commerçants du marché",
    "la mairie",
    "les associations de femmes",
]
_EVENTS = [
    ("les inondations", "la crue"),
    ("la saison sèche", "le manque d'eau"),
    ("la rentrée scolaire", "la fermeture des écoles"),
    ("la campagne de vaccination", "la rougeole"),
    ("la foire agricole", "la hausse des prix"),
    ("les délestages", "la pénurie de carburant"),
    ("le recensement", "les déplacés"),
    ("la réouverture de la route", "l'insécurité"),
]
_SENTENCES = [
    "À {place}, {subject} ont annoncé de nouvelles mesures face à {event}.",
    "Selon un responsable joint par téléphone, {number} familles sont concernées par {cause}.",
    "La situation reste tendue dans plusieurs villages à une trentaine de kilomètres de {place}.",
    "Les habitants interrogés disent attendre des gestes concrets avant la fin du mois.",
    "{subject_cap} ont tenu une réunion d'urgence mardi matin pour faire le point sur {event}.",
    "D'après les chiffres communiqués, {number} personnes ont déjà reçu une aide alimentaire.",
    "Un convoi de ravitaillement est arrivé à {place} après quatre jours de route.",
    "Plusieurs témoins évoquent des difficultés d'accès aux marchés depuis le début de {cause}.",
    "Le prix du sac de mil a encore augmenté de {percent} pour cent en une semaine.",
    "Les partenaires techniques promettent un appui supplémentaire d'ici la prochaine saison.",
    "À l'hôpital régional, les équipes soignantes travaillent sans relâche depuis plusieurs jours.",
    "Un enseignant de {place} raconte que les classes accueillent désormais {number} élèves.",
    "Les autorités appellent la population au calme et à la vigilance.",
    "Cette décision intervient après des semaines de discussions avec les quartiers.",
    "Sur le terrain, les équipes de la protection civile ont installé des abris provisoires.",
    "Pour beaucoup de jeunes de {place}, l'avenir passe par la formation professionnelle.",
    "Le ministre a promis de revenir à {place} avant la fin du trimestre.",
    "Les femmes du quartier ont organisé une collecte pour soutenir les familles sinistrées.",
    "Faute de pluie suffisante, les récoltes de cette année seront inférieures à la moyenne.",
    "Les transporteurs dénoncent l'état de la route nationale entre {place} et la capitale.",
    "Un comité de suivi se réunira chaque semaine pour évaluer l'évolution de {event}.",
    "Les observateurs estiment que la réponse des pouvoirs publics arrive tardivement.",
    "Dans les camps, l'accès à l'eau potable demeure la principale préoccupation.",
    "La radio communautaire de {place} diffuse des messages de sensibilisation.",
    "Les éleveurs ont dû conduire leurs troupeaux plus au sud, vers des pâturages moins touchés.",
    "Une mission d'évaluation est attendue dans la région au cours des prochains jours.",
    "Le bilan provisoire fait état de {number} maisons endommagées et des greniers détruits.",
    "Les commerçants espèrent une reprise rapide des échanges avec les localités voisines.",
]
_TITLES = [
    "{place} : {subject} face à {event}",
    "{event_cap} : à {place}, l'inquiétude grandit",
    "Région de {place} : {number} familles touchées par {cause}",
    "À {place}, {cause} bouleverse le quotidien des habitants",
]


@dataclass(frozen=True)
class ArchiveArticle:
    slug: str
    title: str
    published: datetime  # UTC
    modified: datetime  # UTC; later than `published` for edited articles (sitemap lastmod)
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def path(self) -> str:
        """WordPress-style permalink: /2024/03/05/slug/."""
        return f"/{self.published:%Y/%m/%d}/{self.slug}/"


def make_articles(
    count: int = DEFAULT_ARTICLES, seed: int = 7, first: datetime = FIRST_DAY
) -> list[ArchiveArticle]:
    """`count` distinct French articles, oldest first, a few days apart, seeded."""
    rng = random.Random(seed)
    articles = []
    for i in range(count):
        published = first + timedelta(hours=HOURS_APART * i + rng.randint(0, 40))
        place = rng.choice(_PLACES)
        slots = _slots(rng, place)
        title = rng.choice(_TITLES).format(**slots)
        title = title[0].upper() + title[1:]
        edited = i % EDITED_EVERY == EDITED_EVERY - 1
        modified = published + (EDITED_AFTER if edited else timedelta())
        slug = f"{_slugify(place)}-{i + 1:03d}-{published:%m%d}"
        articles.append(
            ArchiveArticle(slug, title, published, modified, _paragraphs(rng, place, i))
        )
    return articles


def _slots(rng: random.Random, place: str) -> dict[str, str]:
    event, cause = rng.choice(_EVENTS)
    subject = rng.choice(_SUBJECTS)
    return {
        "place": place,
        "subject": subject,
        "subject_cap": subject[0].upper() + subject[1:],
        "event": event,
        "event_cap": event[0].upper() + event[1:],
        "cause": cause,
        "number": str(rng.randint(12, 4800)),
        "percent": str(rng.randint(5, 40)),
    }


def _paragraphs(rng: random.Random, place: str, index: int) -> tuple[str, ...]:
    target = rng.randint(MIN_WORDS + 10, MAX_WORDS - 20)
    # A sentence only this article has: no two generated texts can hash alike.
    sentences = [f"Cet article numéro {index + 1} a été rédigé par notre correspondant à {place}."]
    words = len(sentences[0].split())
    while words < target:
        sentence = rng.choice(_SENTENCES).format(**_slots(rng, place))
        sentences.append(sentence)
        words += len(sentence.split())
    paragraphs, size = [], rng.randint(2, 4)
    for start in range(0, len(sentences), size):
        paragraphs.append(" ".join(sentences[start : start + size]))
    return tuple(paragraphs)


def _slugify(text: str) -> str:
    table = str.maketrans("éèêàâîôûç' ", "eeeaaioucc-")
    return text.lower().translate(table)


def article_html(
    article: ArchiveArticle, url: str | None, *, canonical: bool = True, og_url: bool = True
) -> bytes:
    """An article page with the metadata real outlets send (article:published_time, og:…)."""
    head = [
        '<meta charset="utf-8">',
        f"<title>{escape(article.title)} – Le Sahel Quotidien</title>",
        f'<meta property="og:title" content="{escape(article.title)}">',
        f'<meta property="article:published_time" content="{article.published.isoformat()}">',
        f'<meta property="article:modified_time" content="{article.modified.isoformat()}">',
    ]
    if url and canonical:
        head.append(f'<link rel="canonical" href="{escape(url)}">')
    if url and og_url:
        head.append(f'<meta property="og:url" content="{escape(url)}">')
    body = "".join(f"<p>{escape(p)}</p>\n" for p in article.paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n'
        + "\n".join(head)
        + '\n</head>\n<body>\n<header><nav><a href="/">Accueil</a></nav></header>\n'
        + f"<article>\n<h1>{escape(article.title)}</h1>\n{body}</article>\n"
        + "<footer>© Le Sahel Quotidien</footer>\n</body>\n</html>\n"
    ).encode("utf-8")


def _between(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment <= until)


# --------------------------------------------------------------------------- (a) outlet site


@dataclass(frozen=True)
class SiteManifest:
    base_url: str
    robots_url: str
    index_url: str  # sitemap index, named in robots.txt
    news_sitemap_url: str  # Google News sitemap, named in robots.txt
    robots_sitemaps: tuple[str, ...]  # the Sitemap: lines, in order
    monthly_sitemaps: dict[str, tuple[str, ...]]  # child sitemap URL -> article URLs it lists
    child_lastmod: dict[str, datetime]  # child sitemap URL -> its lastmod in the index
    gzip_sitemap_urls: tuple[str, ...]  # the children served as .xml.gz
    news_urls: tuple[str, ...]  # article URLs in the news sitemap
    articles: dict[str, ArchiveArticle]  # URL -> article

    @property
    def article_urls(self) -> tuple[str, ...]:
        return tuple(self.articles)

    def published_in(self, since: datetime | None, until: datetime | None) -> set[str]:
        """URLs of the articles published in [since, until] (both inclusive, UTC)."""
        return {u for u, a in self.articles.items() if _between(a.published, since, until)}


def serve_outlet_site(
    server: HttpTestServer, articles: list[ArchiveArticle], gzip_months: int = 1
) -> SiteManifest:
    """Article pages, robots.txt with Sitemap: lines, an index of monthly sitemaps (the
    `gzip_months` most recent ones gzipped, served as application/x-gzip without
    Content-Encoding, as most servers do) and a Google News sitemap of the last month."""
    base = server.base_url
    by_url = {base + a.path: a for a in articles}
    for url, article in by_url.items():
        server.route(article.path, body=article_html(article, url), headers=_HTML)
    months = sorted({a.published.strftime("%Y-%m") for a in articles})
    gzipped = set(months[len(months) - gzip_months :]) if gzip_months else set()
    monthly: dict[str, tuple[str, ...]] = {}
    child_lastmod: dict[str, datetime] = {}
    for month in months:
        members = {u: a for u, a in by_url.items() if a.published.strftime("%Y-%m") == month}
        path = f"/sitemaps/post-{month}.xml" + (".gz" if month in gzipped else "")
        body = urlset_xml(members)
        if month in gzipped:
            server.route(path, body=gzip.compress(body, mtime=0), headers=_GZIP)
        else:
            server.route(path, body=body, headers=_XML)
        monthly[base + path] = tuple(members)
        child_lastmod[base + path] = max(a.modified for a in members.values())
    server.route("/sitemap_index.xml", body=index_xml(child_lastmod), headers=_XML)
    newest = max(a.published for a in articles)
    news = {u: a for u, a in by_url.items() if a.published > newest - timedelta(NEWS_SITEMAP_DAYS)}
    server.route("/sitemap-news.xml", body=news_xml(news), headers=_XML)
    sitemaps = (base + "/sitemap_index.xml", base + "/sitemap-news.xml")
    lines = "".join(f"Sitemap: {u}\n" for u in sitemaps)
    robots = "User-agent: *\nDisallow: /wp-admin/\n\n" + lines
    server.route("/robots.txt", body=robots.encode(), headers={"Content-Type": "text/plain"})
    return SiteManifest(
        base_url=base,
        robots_url=base + "/robots.txt",
        index_url=sitemaps[0],
        news_sitemap_url=sitemaps[1],
        robots_sitemaps=sitemaps,
        monthly_sitemaps=monthly,
        child_lastmod=child_lastmod,
        gzip_sitemap_urls=tuple(u for u in monthly if u.endswith(".gz")),
        news_urls=tuple(news),
        articles=by_url,
    )


_HTML = {"Content-Type": "text/html; charset=utf-8"}
_XML = {"Content-Type": "application/xml; charset=utf-8"}
_GZIP = {"Content-Type": "application/x-gzip"}
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def urlset_xml(pages: dict[str, ArchiveArticle]) -> bytes:
    """A sitemaps.org urlset; lastmod is the article's last modification."""
    rows = "".join(
        f"  <url><loc>{xml_escape(u)}</loc><lastmod>{a.modified.isoformat()}</lastmod></url>\n"
        for u, a in pages.items()
    )
    return (
        _XML_HEAD + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{rows}</urlset>\n"
    ).encode()


def index_xml(children: dict[str, datetime]) -> bytes:
    rows = "".join(
        f"  <sitemap><loc>{xml_escape(u)}</loc><lastmod>{m.isoformat()}</lastmod></sitemap>\n"
        for u, m in children.items()
    )
    return (
        _XML_HEAD + '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{rows}</sitemapindex>\n"
    ).encode()


def news_xml(pages: dict[str, ArchiveArticle], publication: str = "Le Sahel Quotidien") -> bytes:
    """A Google News sitemap: news:publication_date and news:title, no lastmod."""
    rows = "".join(
        f"  <url><loc>{xml_escape(u)}</loc><news:news><news:publication>"
        f"<news:name>{xml_escape(publication)}</news:name><news:language>fr</news:language>"
        f"</news:publication><news:publication_date>{a.published.isoformat()}"
        f"</news:publication_date><news:title>{xml_escape(a.title)}</news:title>"
        "</news:news></url>\n"
        for u, a in pages.items()
    )
    return (
        _XML_HEAD + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{rows}</urlset>\n"
    ).encode()


# --------------------------------------------------------------------------- (b) paged feed


@dataclass(frozen=True)
class PagedFeedManifest:
    feed_url: str  # page 1
    page_urls: tuple[str, ...]  # page 1, ?paged=2, …
    pages: tuple[tuple[str, ...], ...]  # article URLs on each page, newest first
    not_found_url: str  # the first page past the end: 404
    articles: dict[str, ArchiveArticle]
    ignores_paging: bool  # True: every ?paged=N answers page 1, like a misconfigured server

    def published_in(self, since: datetime | None, until: datetime | None) -> set[str]:
        return {u for u, a in self.articles.items() if _between(a.published, since, until)}

    def pages_reaching(self, since: datetime) -> int:
        """How many pages a walk back to `since` reads: up to the first page older throughout."""
        for number, links in enumerate(self.pages, start=1):
            if all(self.articles[u].published < since for u in links):
                return number
        return len(self.pages)


def serve_paged_feed(
    server: HttpTestServer,
    articles: list[ArchiveArticle],
    path: str = "/feed/",
    per_page: int = FEED_PAGE_SIZE,
    ignores_paging: bool = False,
) -> PagedFeedManifest:
    """A WordPress RSS feed paged with ?paged=N, newest first; past the last page, 404."""
    base = server.base_url
    newest_first = sorted(articles, key=lambda a: a.published, reverse=True)
    chunks = [newest_first[i : i + per_page] for i in range(0, len(newest_first), per_page)]
    page_urls, pages = [], []
    for number, chunk in enumerate(chunks, start=1):
        target = path if number == 1 else f"{path}?paged={number}"
        body = rss_xml(base, path, chunk)
        if number == 1 or not ignores_paging:
            server.route(target, body=body, headers=_RSS)
        page_urls.append(base + target)
        pages.append(tuple(base + a.path for a in chunk))
    past = f"{path}?paged={len(chunks) + 1}"
    if not ignores_paging:
        server.route(past, status=404, body=b"<html><body>Page introuvable</body></html>")
    return PagedFeedManifest(
        feed_url=base + path,
        page_urls=tuple(page_urls),
        pages=tuple(pages),
        not_found_url=base + past,
        articles={base + a.path: a for a in articles},
        ignores_paging=ignores_paging,
    )


_RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}


def rss_xml(base: str, path: str, chunk: list[ArchiveArticle]) -> bytes:
    items = "".join(
        "<item>"
        f"<title>{xml_escape(a.title)}</title><link>{base}{a.path}</link>"
        f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate>"
        f'<guid isPermaLink="false">{base}/?p={a.slug}</guid>'
        f"<description>{xml_escape(a.paragraphs[0])}</description>"
        "</item>\n"
        for a in chunk
    )
    return (
        _XML_HEAD + '<rss version="2.0"><channel><title>Le Sahel Quotidien</title>'
        f"<link>{base}/</link><description>Actualités</description>\n{items}</channel></rss>\n"
    ).encode()


# --------------------------------------------------------------------------- (c) saved pages


@dataclass(frozen=True)
class SavedFile:
    relative_path: str
    url: str  # the URL the page should be given
    how: str  # 'canonical' | 'og:url' | 'path'
    article: ArchiveArticle


@dataclass(frozen=True)
class SavedPagesManifest:
    root: Path
    pages: tuple[SavedFile, ...]
    other_files: tuple[str, ...]  # files that are not pages (css, images, notes)
    base_url: str  # the outlet the pages were saved from

    def by_how(self) -> Counter[str]:
        return Counter(p.how for p in self.pages)


SAVED_VARIANTS = ("canonical", "og:url", "path")


def write_saved_pages(
    root: Path, articles: list[ArchiveArticle], base_url: str = "https://sahel-quotidien.example"
) -> SavedPagesManifest:
    """A wget-like folder: pages with a canonical link, some with only og:url, some with neither
    (their URL is then made from the path), one .htm, one .html.gz, and files that are not pages."""
    pages = []
    for i, article in enumerate(articles):
        how = SAVED_VARIANTS[i % len(SAVED_VARIANTS)]
        url = base_url + article.path
        html = article_html(article, url, canonical=how == "canonical", og_url=how != "path")
        suffix = ".htm" if i == 1 else ".html"
        rel = f"{article.published:%Y/%m}/{article.slug}{suffix}"
        data = html
        if i == 2:
            rel, data = rel + ".gz", gzip.compress(html, mtime=0)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        expected = url if how != "path" else "https://saved.invalid/" + rel.removesuffix(".gz")
        pages.append(SavedFile(rel, expected, how, article))
    others = ("style.css", "images/logo.png", "LISEZMOI.txt")
    for rel in others:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"not a page\n")
    return SavedPagesManifest(root, tuple(pages), others, base_url)


# --------------------------------------------------------------------------- (d) WARC


@dataclass(frozen=True)
class WarcRecordInfo:
    offset: int
    length: int  # bytes in the file, gzip member included
    warc_type: str
    url: str | None
    kind: str  # 'page', or what WarcPassed.kind reports: 'request', 'http 404', 'not html'…


@dataclass(frozen=True)
class WarcManifest:
    path: Path
    gzipped: bool
    records: tuple[WarcRecordInfo, ...]
    articles: dict[str, ArchiveArticle]  # page URL -> article
    captured: dict[str, datetime] = field(default_factory=dict)  # page URL -> WARC-Date

    @property
    def pages(self) -> tuple[WarcRecordInfo, ...]:
        return tuple(r for r in self.records if r.kind == "page")

    def passed_kinds(self) -> Counter[str]:
        return Counter(r.kind for r in self.records if r.kind != "page")


def write_warc(
    path: Path, articles: list[ArchiveArticle], base_url: str, gzipped: bool | None = None
) -> WarcManifest:
    """warcinfo, then per article a request and an HTML 200 response; plus a JPEG response, an
    HTML 404, a 301, a revisit and a metadata record. Gzip per record when the name ends .gz."""
    gz = path.name.endswith(".gz") if gzipped is None else gzipped
    records: list[tuple[bytes, str, str | None, str]] = [
        (_warcinfo(path.name), "warcinfo", None, "warcinfo")
    ]
    captured: dict[str, datetime] = {}
    for article in articles:
        url = base_url + article.path
        when = article.published + timedelta(hours=3)
        captured[url] = when
        records.append((_request(url, when), "request", url, "request"))
        records.append(
            (
                _response(url, when, 200, "text/html; charset=utf-8", article_html(article, url)),
                "response",
                url,
                "page",
            )
        )
    when = articles[-1].published + timedelta(days=1)
    extras = [
        (
            _response(base_url + "/logo.jpg", when, 200, "image/jpeg", b"\xff\xd8\xff" + bytes(64)),
            "response",
            base_url + "/logo.jpg",
            "not html",
        ),
        (
            _response(base_url + "/disparu/", when, 404, "text/html", b"<html>Introuvable</html>"),
            "response",
            base_url + "/disparu/",
            "http 404",
        ),
        (
            _response(base_url + "/go/1", when, 301, "text/html", b""),
            "response",
            base_url + "/go/1",
            "http 301",
        ),
        (
            _revisit(base_url + articles[0].path, when),
            "revisit",
            base_url + articles[0].path,
            "revisit",
        ),
        (
            _metadata(base_url + articles[0].path, when),
            "metadata",
            base_url + articles[0].path,
            "metadata",
        ),
    ]
    records[3:3] = extras  # early in the file, between pages, as crawlers interleave them
    infos, offset = [], 0
    with path.open("wb") as out:
        for raw, warc_type, url, kind in records:
            data = gzip.compress(raw, mtime=0) if gz else raw
            out.write(data)
            infos.append(WarcRecordInfo(offset, len(data), warc_type, url, kind))
            offset += len(data)
    by_url = {base_url + a.path: a for a in articles}
    return WarcManifest(path, gz, tuple(infos), by_url, captured)


def _warc_record(
    warc_type: str,
    url: str | None,
    when: datetime,
    content_type: str,
    block: bytes,
    extra: dict[str, str] | None = None,
) -> bytes:
    headers = {
        "WARC-Type": warc_type,
        "WARC-Record-ID": f"<urn:uuid:{_record_uuid(warc_type, url, when)}>",
        "WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if url:
        headers["WARC-Target-URI"] = url
    headers |= extra or {}
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(block))
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def _record_uuid(warc_type: str, url: str | None, when: datetime) -> uuid.UUID:
    """Stable ids, so the same fixture is the same bytes on every run."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{warc_type} {url} {when.isoformat()}")


def _warcinfo(filename: str) -> bytes:
    block = b"software: sahelwatch-tests\r\nformat: WARC File Format 1.0\r\n"
    when = datetime(2024, 7, 1, tzinfo=UTC)
    return _warc_record(
        "warcinfo", None, when, "application/warc-fields", block, {"WARC-Filename": filename}
    )


def _request(url: str, when: datetime) -> bytes:
    path = "/" + url.split("/", 3)[3]
    host = url.split("/")[2]
    block = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sahelwatch-tests\r\n\r\n"
    return _warc_record("request", url, when, "application/http; msgtype=request", block.encode())


_REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}


def _response(url: str, when: datetime, status: int, content_type: str, body: bytes) -> bytes:
    http = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return _warc_record("response", url, when, "application/http; msgtype=response", http)


def _revisit(url: str, when: datetime) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    return _warc_record(
        "revisit",
        url,
        when,
        "application/http; msgtype=response",
        http,
        {
            "WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
            "WARC-Refers-To-Target-URI": url,
        },
    )


def _metadata(url: str, when: datetime) -> bytes:
    block = b"outlinks: 3\r\nfetchTimeMs: 120\r\n"
    return _warc_record("metadata", url, when, "application/warc-fields", block)
