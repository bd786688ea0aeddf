"""
Check a built HTML site for links within it that point nowhere, and for anything it would load from the network.

Every ``href`` and ``src`` of every page: a local one must name a file of the site (a folder: its ``index.html``) and,
with a ``#fragment``, an ``id`` (or ``name``) on that page; a script, stylesheet, image or frame must be local, so the
site opens offline (links to other sites, ``<a href="https://...">``, are allowed). Exit status 1 with one line per
problem.

Usage: python docs/check_links.py docs/_build/html
"""

import html.parser
import pathlib
import sys
import urllib.parse

LOADED = {"script": "src", "img": "src", "iframe": "src", "source": "src", "link": "href", "embed": "src"}
SKIPPED_SCHEMES = ("mailto:", "javascript:", "data:", "tel:")


class _Page(html.parser.HTMLParser):
    """The ids of a page and its (tag, attribute, value) links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name") if tag == "a" else ("id",):
            if name in values:
                self.ids.add(values[name])
        for name in ("href", "src"):
            if name in values:
                self.links.append((tag, name, values[name]))


def _parse(path: pathlib.Path, cache: dict[pathlib.Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def check_site(root: str | pathlib.Path) -> list[str]:
    """
    :param root: The built site's folder
    :return: One line per problem (empty: the site's links are whole and it loads nothing from the network)
    """
    root = pathlib.Path(root).resolve()
    pages = sorted(root.rglob("*.html"))
    if not pages:
        return [f"{root}: no HTML pages (build the site first: make docs)"]
    cache: dict[pathlib.Path, _Page] = {}
    problems = []
    for path in pages:
        page = _parse(path, cache)
        where = path.relative_to(root)
        for tag, attribute, value in page.links:
            url = urllib.parse.urlsplit(value.strip())
            if value.startswith(SKIPPED_SCHEMES):
                continue
            if url.scheme or value.startswith("//"):
                if LOADED.get(tag) == attribute and not (tag == "link" and "stylesheet" not in value and url.scheme):
                    problems.append(f"{where}: <{tag} {attribute}={value!r}> loads from the network")
                continue
            target = path if not url.path else (path.parent / urllib.parse.unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where}: <{tag} {attribute}={value!r}>: no file {target}")
            elif url.fragment and target.suffix == ".html":
                if urllib.parse.unquote(url.fragment) not in _parse(target, cache).ids:
                    problems.append(f"{where}: <{tag} {attribute}={value!r}>: no id {url.fragment!r} in {target.name}")
    return problems


if __name__ == "__main__":
    found = check_site(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    print("\n".join(found) if found else "links: every local link resolves, nothing loads from the network")
    sys.exit(1 if found else 0)
