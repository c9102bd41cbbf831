"""`sahelwatch report`: one self-contained page whose every chart draws in a browser, offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from flows.cli import main
from reports.page import CHART_IDS

# Marks each chart with how many of its SVG shapes have a visible size once laid out.
MEASURE_SCRIPT = """
<script>
for (const figure of document.querySelectorAll('figure.chart')) {
  let drawn = 0;
  for (const shape of figure.querySelectorAll('svg path, svg rect, svg use')) {
    const box = shape.getBoundingClientRect();
    if (box.width > 0 || box.height > 0) drawn += 1;
  }
  figure.setAttribute('data-drawn', String(drawn));
}
</script>
"""
# No request can leave the machine: names resolve nowhere and any proxy is a closed port.
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]
CHROMIUM_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def report(analyst_store, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["report", "--db", str(analyst_store.path), "--out", str(out)])
    assert code == 0
    return out.read_text("utf-8")


def test_the_report_holds_every_chart_as_inline_svg(report):
    found = re.findall(r'<figure class="chart" id="chart-([a-z-]+)"><svg', report)
    assert found == list(CHART_IDS)


def test_the_report_needs_nothing_from_the_network(report):
    assert "<script" not in report
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", report)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", report)


def test_the_report_shows_the_fixtures_largest_story_and_silent_source(report):
    assert "Des attaques de drones visent des positions du JNIM" in report
    assert "Niamey Soir" in report


def test_every_chart_draws_in_headless_chromium_offline(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page = tmp_path / "measured.html"
    page.write_text(report.replace("</body>", MEASURE_SCRIPT + "</body>"), "utf-8")
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            *OFFLINE_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    drawn = dict(re.findall(r'id="chart-([a-z-]+)" data-drawn="(\d+)"', result.stdout))
    assert set(drawn) == set(CHART_IDS)
    assert all(int(n) > 0 for n in drawn.values()), drawn
