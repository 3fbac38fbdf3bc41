"""The guide in the dashboard: docs/guide/*.md, one page per client-authentication method.

The Markdown files are the guide; the dashboard only shows them. They are rendered with
markdown-it-py (CommonMark plus tables) and `html` off, so raw HTML in a file is shown as text,
never run. Three things differ from GitHub's view of the same files:
- a link to another guide page goes to its dashboard page (`mtls.md` -> /guide/mtls);
- a link to any other file in the repository (code, the README) becomes its plain text, since the
  dashboard serves no files;
- a Mermaid block stays text, with a note: drawing it needs JavaScript, and the Content-Security-
  Policy allows none inline (blueprints/security_headers.py). GitHub draws it.
Headings get GitHub's anchors, so `private-key-jwt.md#rotate-with-no-downtime` works in both.
"""
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import abort, current_app, render_template, url_for
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

from blueprints.dashboard.common import bp

GUIDE_FOLDER = "docs/guide"  # relative to the repository root (the app's root_path)
INDEX = "README.md"
# The pages after the index, in the guide's order: URL name -> (file, title for the page list).
PAGES = {
    "client-secret": ("client-secret.md", "Client secret"),
    "private-key-jwt": ("private-key-jwt.md", "Private Key JWT"),
    "mtls": ("mtls.md", "Mutual TLS"),
    "jar-par": ("jar-par.md", "Signed and pushed requests"),
}
MERMAID_NOTE = ('<p class="hint">A diagram, written in Mermaid. GitHub draws it when you open this file in the '
                "repository (<code>docs/guide/</code>); here it is shown as text.</p>\n")


@bp.route("/guide/", defaults={"page": None})
@bp.route("/guide/<page>")
def guide(page):
    """The guide's index, or one of its PAGES; 404 for any other name."""
    if page is not None and page not in PAGES:
        abort(404, description="The guide has no such page.")
    filename = PAGES[page][0] if page else INDEX
    text = (Path(current_app.root_path) / GUIDE_FOLDER / filename).read_text(encoding="utf-8")
    title, body = render_markdown(text)
    return render_template("dashboard/guide.html", title=title, body=body, page=page, pages=PAGES)


def render_markdown(text: str) -> tuple[str, Markup]:
    """(the first heading's text, the page as HTML) for a guide file's Markdown."""
    parser = markdown_parser()
    tokens = parser.parse(text)
    title = add_heading_anchors(tokens) or "Guide"
    heading, labels = title, set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = plain_text(tokens[index + 1])
        elif token.type == "inline" and token.children:
            token.children = rewrite_links(token.children)
        elif token.type == "table_open":
            token.attrSet("class", "table")
            # Each scrolling region needs a name of its own: the heading the table sits under.
            label = heading if heading not in labels else f"{heading} ({index})"
            labels.add(label)
            token.meta["label"] = label
    # Safe: markdown-it escapes every text, and with html off no raw HTML passes through.
    return title, Markup(parser.renderer.render(tokens, parser.options, {}))  # noqa: S704


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables; raw HTML escaped (html=False); Mermaid fences shown as text with a note."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.add_render_rule("fence", render_fence)
    parser.add_render_rule("table_open", render_table_open)
    parser.add_render_rule("table_close", render_table_close)
    return parser


def render_fence(self, tokens, idx, options, env) -> str:
    """A fenced block as markdown-it renders it, after a note when it is a Mermaid diagram."""
    note = MERMAID_NOTE if tokens[idx].info.strip().lower() == "mermaid" else ""
    return note + self.fence(tokens, idx, options, env)


def render_table_open(self, tokens, idx, options, env) -> str:
    """`<table>` inside a region that scrolls on its own, as the dashboard's tables do (focusable for keyboards)."""
    label = escapeHtml(tokens[idx].meta.get("label", "Table"))
    return f'<div class="table-scroll" tabindex="0" role="region" aria-label="{label}">\n' + \
        self.renderToken(tokens, idx, options, env)


def render_table_close(self, tokens, idx, options, env) -> str:
    """`</table>` and the end of its scrolling region."""
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def rewrite_links(children: list) -> list:
    """Links to guide pages -> their dashboard pages; links to other repository files -> their text."""
    kept, dropping = [], False
    for token in children:
        if token.type == "link_open":
            target = guide_target(token.attrGet("href") or "")
            if target is None:
                dropping = True
                continue
            token.attrSet("href", target)
        elif token.type == "link_close" and dropping:
            dropping = False
            continue
        kept.append(token)
    return kept


def guide_target(href: str) -> str | None:
    """Where a link in a guide file goes in the dashboard; None for a repository file it does not serve."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return href  # another site, or an anchor on this page
    page = guide_page_of(parts.path)
    if page is False:
        return None
    address = url_for("dashboard.guide", page=page)
    return address + (f"#{parts.fragment}" if parts.fragment else "")


def guide_page_of(relative_path: str):
    """The guide page a path relative to docs/guide/ names: a PAGES key, None for the index, False for none."""
    path = posixpath.normpath(posixpath.join(GUIDE_FOLDER, relative_path))
    folder, filename = posixpath.split(path)
    if folder != GUIDE_FOLDER:
        return False
    if filename == INDEX:
        return None
    return next((page for page, (name, _) in PAGES.items() if name == filename), False)


def add_heading_anchors(tokens: list) -> str | None:
    """Give each heading GitHub's anchor id; returns the first heading's text."""
    title, seen = None, {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = plain_text(tokens[index + 1])
        title = title or text
        slug = heading_slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        token.attrSet("id", slug if count == 0 else f"{slug}-{count}")
    return title


def plain_text(inline) -> str:
    """The text of an inline token as a reader sees it (code spans without their backticks)."""
    return "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))


def heading_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
