import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import groklab_cli, handbuilt_run
from groklab.analysis.llc.estimator import LLCSettings
from groklab.analysis.llc.llc_json import calibrate, llc_run
from groklab.api import report
from groklab.engine import analyze_run
from groklab.engine import extract_run
from groklab.train import run

FIGURES = ("fig-curves", "fig-progress", "fig-diagnostics", "fig-llc", "fig-llc-calibration",
           "fig-families", "fig-correct",
           "fig-spectrum", "fig-circles", "fig-neurons", "fig-interference", "fig-layers")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=15000"]

PROBE = """<script>window.__errors=[];window.addEventListener('error',function(e){
window.__errors.push(String(e.message));});</script>"""
COLLECT = """<script>setTimeout(function(){var plots=[].slice.call(document.querySelectorAll('.plot'));
var out={errors:window.__errors,plots:plots.map(function(el){var svg=el.querySelector('svg.main-svg');
var r=el.getBoundingClientRect();return {id:el.id,svg:!!svg,traces:el.querySelectorAll('.trace, .hm').length,
canvas:el.querySelectorAll('canvas').length,height:r.height};})};
var pre=document.createElement('pre');pre.id='__result';pre.textContent=JSON.stringify(out);
document.body.appendChild(pre);},3000);</script>"""


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A hand-built run (no training: the fast tier trains no grokking run) under a name that
    needs escaping, fully processed."""
    out = tmp_path_factory.mktemp("rep") / "small <run> & 'quotes'"
    handbuilt_run(out)
    analyze_run(out)
    extract_run(out)
    settings = LLCSettings(draws=30, burn_in=10)
    llc_run(out, settings, 4)
    calibrate(out, settings)
    return out, report(out)


def test_report_is_self_contained_and_escaped(reported):
    path, html_path = reported
    html = html_path.read_text()
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*\shref=", html)  # nothing fetched
    assert html.count("<script>") >= 3 and "Plotly.newPlot" in html  # plotly.js inlined
    assert "small &lt;run&gt; &amp; &#x27;quotes&#x27;" in html
    assert "small <run>" not in html
    assert "<script>alert(1)" not in html and "</script><script>alert" not in html
    for fig in FIGURES:
        assert f'id="{fig}"' in html
    assert "Which program?" in html and "The network runs: clock" in html
    assert "The extracted program" in html and "def answer(a, b)" in html


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs it")
    return found


def render_in_chromium(chromium: str, html: str, tmp_path) -> dict:
    """Load `html` in headless Chromium; the JS errors and, per plot, what it drew."""
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("<head>", "<head>" + PROBE, 1).replace("</body>", COLLECT + "</body>"))
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--window-size=1300,3000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="__result">(.*?)</pre>', dom, re.S)
    assert found, "the page did not finish rendering"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_report_renders_in_headless_chromium(reported, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    _, html_path = reported
    result = render_in_chromium(chromium, html_path.read_text(), tmp_path)
    assert result["errors"] == []
    assert sorted(p["id"] for p in result["plots"]) == sorted(FIGURES)
    for plot in result["plots"]:
        assert plot["svg"] and (plot["traces"] > 0 or plot["canvas"] > 0), plot
        assert plot["height"] > 100, plot
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1300,2400", f"--screenshot={shot}", html_path.as_uri()],
                   capture_output=True, timeout=120)
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50  # not blank: many colours drawn


def test_report_bad_input(tmp_path, tiny):
    r = groklab_cli("report", str(tmp_path))
    assert r.returncode == 2 and "not a groklab run directory" in r.stderr
    result = run(tiny, tmp_path / "unanalysed", quiet=True)
    r = groklab_cli("report", str(result.path))
    assert r.returncode == 2 and "groklab analyze" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
