"""robots.txt read as RFC 9309 says and as site owners mean it."""

from __future__ import annotations

from extractors.robots import (
    DEFAULT_SITEMAP_PATHS,
    RobotsRules,
    default_sitemap_urls,
    parse_robots,
    product_token,
    sitemap_urls_from_robots,
)

UA = (
    "sahelwatch/0.1 (+https://github.com/sahelwatch/sahelwatch; French-language Sahel news monitor)"
)
SITE = "https://lesahelien.example"


def allowed(robots: str, path: str, user_agent: str = UA) -> bool:
    return parse_robots(robots).can_fetch(SITE + path, user_agent)


def test_product_token_is_the_name_before_the_version() -> None:
    assert product_token(UA) == "sahelwatch"
    assert product_token("Googlebot/2.1 (+http://www.google.com/bot.html)") == "googlebot"


def test_empty_file_allows_everything() -> None:
    assert allowed("", "/politique/article-1.html")


def test_disallowed_prefix_is_refused_and_the_rest_allowed() -> None:
    robots = "User-agent: *\nDisallow: /recherche\n"
    assert not allowed(robots, "/recherche?q=niamey")
    assert not allowed(robots, "/recherche/avancee")
    assert allowed(robots, "/politique/article-1.html")


def test_longest_match_wins_so_allowed_section_of_a_closed_site_is_open() -> None:
    robots = "User-agent: *\nDisallow: /\nAllow: /actualites/\n"
    assert allowed(robots, "/actualites/mali-elections.html")
    assert not allowed(robots, "/abonnes/dossier.html")


def test_longer_disallow_inside_allowed_section_wins() -> None:
    robots = "User-agent: *\nAllow: /actualites/\nDisallow: /actualites/brouillons/\n"
    assert not allowed(robots, "/actualites/brouillons/x.html")
    assert allowed(robots, "/actualites/x.html")


def test_equally_long_allow_and_disallow_allow_wins() -> None:
    robots = "User-agent: *\nDisallow: /page\nAllow: /page\n"
    assert allowed(robots, "/page")


def test_wildcard_and_end_anchor() -> None:
    robots = "User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?imprimer=\n"
    assert not allowed(robots, "/rapports/securite-sahel.pdf")
    assert allowed(robots, "/rapports/securite-sahel.pdf.html")
    assert not allowed(robots, "/article/12?imprimer=1")
    assert allowed(robots, "/article/12?page=2")


def test_empty_disallow_allows_everything() -> None:
    assert allowed("User-agent: *\nDisallow:\n", "/tout/")


def test_our_own_group_replaces_the_star_group() -> None:
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: sahelwatch\nDisallow: /abonnes/\n"
    assert allowed(robots, "/actualites/x.html")
    assert not allowed(robots, "/abonnes/x.html")
    assert not allowed(robots, "/actualites/x.html", user_agent="AutreRobot/1.0")


def test_agent_names_match_case_insensitively_and_ignore_versions() -> None:
    assert not allowed("User-agent: SahelWatch/0.9\nDisallow: /\n", "/x")


def test_a_group_for_a_name_containing_ours_as_a_prefix_is_not_ours() -> None:
    robots = "User-agent: sahel\nDisallow: /\n\nUser-agent: sahelwatchbot\nDisallow: /\n"
    assert allowed(robots, "/x")


def test_consecutive_user_agent_lines_share_one_group() -> None:
    robots = "User-agent: googlebot\nUser-agent: sahelwatch\nDisallow: /archives/\n"
    assert not allowed(robots, "/archives/2019/x.html")


def test_groups_for_the_same_agent_are_merged() -> None:
    robots = (
        "User-agent: sahelwatch\nDisallow: /a/\n\n"
        "User-agent: autre\nDisallow: /\n\n"
        "User-agent: sahelwatch\nDisallow: /b/\n"
    )
    assert not allowed(robots, "/a/x")
    assert not allowed(robots, "/b/x")
    assert allowed(robots, "/c/x")


def test_rules_before_any_user_agent_line_are_ignored() -> None:
    assert allowed("Disallow: /\nUser-agent: *\nDisallow: /prive/\n", "/public/")


def test_comments_blank_lines_and_unknown_fields_are_ignored() -> None:
    robots = (
        "# Fichier robots du journal\n"
        "Sitemap: https://lesahelien.example/sitemap.xml\n"
        "User-agent: *   # tout le monde\n"
        "Host: lesahelien.example\n"
        "\n"
        "Disallow: /admin/  # back-office\n"
        "pas une ligne valide\n"
    )
    assert not allowed(robots, "/admin/login")
    assert allowed(robots, "/admin")


def test_percent_encoding_and_non_ascii_paths_match_their_other_spelling() -> None:
    robots = "User-agent: *\nDisallow: /économie/\nDisallow: /%7Eredaction/\n"
    assert not allowed(robots, "/%C3%A9conomie/inflation.html")
    assert not allowed(robots, "/économie/inflation.html")
    assert not allowed(robots, "/~redaction/notes.html")


def test_robots_txt_itself_is_always_allowed() -> None:
    assert allowed("User-agent: *\nDisallow: /\n", "/robots.txt")
    assert RobotsRules.disallow_all().can_fetch(SITE + "/robots.txt", UA)


def test_disallow_all_refuses_every_page() -> None:
    assert not RobotsRules.disallow_all().can_fetch(SITE + "/", UA)


def test_allow_all_accepts_every_page() -> None:
    assert RobotsRules.allow_all().can_fetch(SITE + "/abonnes/x", UA)


def test_crawl_delay_of_our_group() -> None:
    robots = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: sahelwatch\nCrawl-delay: 2.5\n"
    assert parse_robots(robots).crawl_delay(UA) == 2.5


def test_crawl_delay_falls_back_to_the_star_group() -> None:
    assert parse_robots("User-agent: *\nCrawl-delay: 4\n").crawl_delay(UA) == 4.0


def test_no_or_malformed_crawl_delay_is_none() -> None:
    assert parse_robots("User-agent: *\nDisallow: /x\n").crawl_delay(UA) is None
    for value in ("lent", "-3", "nan", "inf"):
        assert parse_robots(f"User-agent: *\nCrawl-delay: {value}\n").crawl_delay(UA) is None


def test_windows_line_endings_are_understood() -> None:
    assert not allowed("User-agent: *\r\nDisallow: /prive/\r\n", "/prive/x")


# --------------------------------------------------------------------------- Sitemap: lines


def test_sitemap_lines_are_read_in_any_case_and_made_absolute() -> None:
    robots = (
        "User-agent: *\nDisallow: /prive/\n"
        "Sitemap: https://lesahelien.example/sitemap_index.xml\n"
        "sitemap: /sitemap-news.xml   # relative, resolved against the site\n"
        "SITEMAP:https://cdn.lesahelien.example/s.xml.gz\n"
    )
    assert sitemap_urls_from_robots(robots, SITE + "/robots.txt") == [
        SITE + "/sitemap_index.xml",
        SITE + "/sitemap-news.xml",
        "https://cdn.lesahelien.example/s.xml.gz",
    ]


def test_sitemap_lines_are_listed_once_and_non_http_ones_dropped() -> None:
    robots = f"Sitemap: {SITE}/a.xml\nSitemap: {SITE}/a.xml\nSitemap: ftp://x/s.xml\nSitemap:\n"
    assert sitemap_urls_from_robots(robots, SITE) == [SITE + "/a.xml"]


def test_sitemap_lines_do_not_change_the_access_rules() -> None:
    robots = f"User-agent: *\nSitemap: {SITE}/s.xml\nDisallow: /prive/\n"
    assert not allowed(robots, "/prive/x.html")
    assert allowed(robots, "/s.xml")


def test_default_sitemaps_are_at_the_root_of_the_site() -> None:
    urls = default_sitemap_urls(SITE + "/rubrique/politique/")
    assert urls == [SITE + path for path in DEFAULT_SITEMAP_PATHS]
    assert SITE + "/sitemap.xml" in urls
