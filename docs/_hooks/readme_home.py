"""MkDocs hook: the home page is the README, with its links made relative to docs/.

``docs/index.md`` holds only a marker; the README stays the single source of the story. Links
into ``docs/`` become site links; links to other files of the repository (examples, scripts)
have no page on the site, so they become the file's path in code, which a reader finds in the
source tree.
"""

from __future__ import annotations

import re
from pathlib import Path

MARKER = "<!-- README -->"
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _relink(match: re.Match) -> str:
    bang, text, target = match.groups()
    if re.match(r"https?://|#", target):
        return match.group(0)
    if target.startswith("docs/") and (target.endswith(".md") or "/img/" in target or "#" in target):
        return f"{bang}[{text}]({target[len('docs/'):]})"
    return text if text.startswith("`") else f"{text} (`{target}`)"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (mkdocs API)
    if MARKER not in markdown:
        return markdown
    root = Path(config["config_file_path"]).parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    return markdown.replace(MARKER, LINK.sub(_relink, readme))
