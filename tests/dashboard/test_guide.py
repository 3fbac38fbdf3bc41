"""The guide (docs/guide/*.md) in the dashboard, the Credentials tab's links to it, and links that never rot."""
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from markdown_it import MarkdownIt

from blueprints.dashboard.guide import GUIDE_FOLDER, PAGES, heading_slug, plain_text, render_markdown
from tests.dashboard.conftest import url
from tests.factories import make_app

REPOSITORY = Path(__file__).resolve().parents[2]
GUIDE_FILES = sorted((REPOSITORY / GUIDE_FOLDER).glob("*.md"))
GUIDE_URLS = ["/guide/", *(f"/guide/{page}" for page in PAGES)]


@pytest.mark.parametrize("address", GUIDE_URLS)
def test_each_page_renders_for_an_administrator(client, dashboard, address):
    response = client.get(address)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"<h1 id=\"[\w-]+\">", html), "the page has its heading"
    assert '<article class="card guide">' in html
    assert 'aria-current="page">Guide</a>' in html  # the header's navigation marks the guide


@pytest.mark.parametrize("address", GUIDE_URLS)
def test_each_page_sends_anonymous_visitors_to_sign_in(client, address):
    response = client.get(address)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("page", ["unknown", "README", "client-secret.md", "..%2F..%2FREADME"])
def test_an_unknown_page_is_404(client, dashboard, page):
    assert client.get(f"/guide/{page}").status_code == 404


def test_the_header_links_to_the_guide(client, dashboard):
    assert 'href="/guide/">Guide</a>' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_shows_its_mermaid_diagram_as_text_with_a_note(client, dashboard, page):
    html = client.get(f"/guide/{page}").get_data(as_text=True)
    assert '<code class="language-mermaid">sequenceDiagram' in html
    assert "GitHub draws it" in html
    # No script of the guide's own: only the dashboard's static file (the CSP forbids inline script).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']


def test_links_between_guide_pages_point_at_dashboard_pages(client, dashboard):
    html = client.get("/guide/").get_data(as_text=True)
    for page in PAGES:
        assert f'href="/guide/{page}"' in html
    assert 'href="/guide/mtls#certificate-bound-tokens-rfc-8705-3"' in html
    assert ".md\"" not in html  # no link to a Markdown file is left


def test_links_to_code_files_become_plain_code_names(client, dashboard):
    html = client.get("/guide/private-key-jwt").get_data(as_text=True)
    assert "<code>blueprints/oauth/client_auth/private_key_jwt.py</code>" in html
    assert 'href="../../' not in html


def test_heading_anchors_match_githubs(client, dashboard):
    html = client.get("/guide/mtls").get_data(as_text=True)
    assert '<h2 id="certificate-bound-tokens-rfc-8705-3">' in html
    assert '<h3 id="tls_client_auth">' in html


def test_raw_html_in_markdown_is_escaped_never_rendered(app):
    markdown = ("# Title\n\n<script>alert(1)</script>\n\nText <img src=x onerror=alert(1)> "
                "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
                "<div onclick=\"alert(1)\">block</div>\n")
    with app.test_request_context():
        title, html = render_markdown(markdown)
    assert title == "Title"
    assert "<script" not in html and "<img" not in html and "<div" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and 'href="data:' not in html


@pytest.mark.parametrize("app_type, section, page", [
    ("non_interactive", "secret-heading", "client-secret"),
    ("non_interactive", "private-key-jwt-heading", "private-key-jwt"),
    ("non_interactive", "mtls-heading", "mtls"),
    ("regular_web", "jar-heading", "jar-par"),
])
def test_each_credentials_section_links_to_its_guide_page(app, client, dashboard, app_type, section, page):
    client_id, _ = make_app(app, app_type=app_type, grant=None)
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    heading = html.index(f'id="{section}"')
    link = html.index(f'href="/guide/{page}"', heading)
    assert link - heading < 300, "the link sits right under the section's heading"
    assert client.get(f"/guide/{page}").status_code == 200


# --- the guide never rots ------------------------------------------------------------------------

def markdown_links(path: Path) -> list[str]:
    """Every link target in a Markdown file, as CommonMark reads it."""
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    return [child.attrGet("href") for token in tokens if token.type == "inline"
            for child in token.children or [] if child.type == "link_open"]


def heading_anchors(path: Path) -> set[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    return {heading_slug(plain_text(tokens[i + 1])) for i, token in enumerate(tokens) if token.type == "heading_open"}


def test_the_guide_has_its_pages():
    assert {path.name for path in GUIDE_FILES} >= {"README.md", *(name for name, _ in PAGES.values())}


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda path: path.name)
def test_every_relative_link_points_at_a_file_in_the_repository(path):
    relative = [href for href in markdown_links(path) if not urlsplit(href).scheme and not href.startswith("#")]
    assert relative, "the page links to its code"
    for href in relative:
        target, _, anchor = href.partition("#")
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(REPOSITORY) and resolved.exists(), f"{href} points at nothing"
        if anchor:
            assert resolved.suffix == ".md", f"{href}: anchors are checked only in Markdown files"
            assert anchor in heading_anchors(resolved), f"{href}: no heading has this anchor"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda path: path.name)
def test_every_anchor_on_the_same_page_exists(path):
    for href in markdown_links(path):
        if href.startswith("#"):
            assert href[1:] in heading_anchors(path), f"{href} names no heading of {path.name}"


@pytest.mark.parametrize("path", [p for p in GUIDE_FILES if p.name != "README.md"], ids=lambda path: path.name)
def test_every_method_page_has_a_sequence_diagram_and_the_sections_a_learner_needs(path):
    text = path.read_text(encoding="utf-8")
    assert "```mermaid\nsequenceDiagram\n" in text
    for heading in ("## What the application does", "## What AppCreds checks, in order", "## Trade-offs",
                    "## Try it yourself"):
        assert heading in text, f"{path.name} lacks {heading!r}"
    assert re.search(r"^## Rotating", text, re.MULTILINE), f"{path.name} says nothing about rotation"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda path: path.name)
def test_mermaid_blocks_avoid_characters_that_end_a_statement(path):
    """In Mermaid a `;` ends a statement and `#` starts an entity code: either would break a message."""
    for block in re.findall(r"```mermaid\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL):
        assert ";" not in block and "#" not in block

