"""MkDocs hook: the home page is the README, with its links made relative to docs/.

``docs/index.md`` holds only a marker; the README stays the single source of the story.
"""

from __future__ import annotations

import re
from pathlib import Path

MARKER = "<!-- README -->"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (mkdocs API)
    if MARKER not in markdown:
        return markdown
    root = Path(config["config_file_path"]).parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    # links into docs/ become page-relative; links to other files of the repository go to the repo
    readme = re.sub(r"\]\(docs/", "](", readme)
    repo = config.get("repo_url", "").rstrip("/")
    readme = re.sub(r"\]\((?!https?://|#|[a-z_\-]+\.md|img/|tutorials/|api/)([^)]+)\)",
                    lambda m: f"]({repo}/blob/main/{m.group(1)})", readme)
    return markdown.replace(MARKER, readme)
