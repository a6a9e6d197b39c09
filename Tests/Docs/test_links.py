"""Every relative link in README.md and docs/*.md reaches a file that exists, and its #anchor a
heading of that file (run by `make test` as `make docs-check`; the standard library only).

The README is the front door and docs/ the reference behind it; a page renamed or a heading
reworded would otherwise leave links that lead nowhere, which no other test notices. Anchors are
computed as GitHub renders them: the heading's text, lower case, punctuation other than `-` and
`_` removed, spaces turned into `-`, and `-1`, `-2`, … appended to repeated headings.
"""
import re
import unittest
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
# [text](target) and ![alt](target); the target ends at whitespace or the closing parenthesis.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text):
    """The lines outside fenced code blocks and HTML comments, with their line numbers."""
    text = HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    in_fence = False
    for number, line in enumerate(text.split("\n"), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line


def slug(heading):
    """GitHub's anchor for a heading: links and code reduced to their text, then slugged."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor a page offers, repeated headings numbered as GitHub numbers them."""
    seen = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path):
    """(line number, target) of every link in a page's prose, inline code left out."""
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            yield number, match.group(1)


class DocumentationLinkTests(unittest.TestCase):
    def test_pages_exist(self):
        self.assertTrue((ROOT / "README.md").is_file())
        self.assertGreater(len(PAGES), 1, "docs/ holds no page")

    def test_every_relative_link_resolves(self):
        broken = []
        for page in PAGES:
            for number, target in links(page):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue  # http:, https:, mailto: … are not checked here
                file_part, _, anchor = target.partition("#")
                destination = (page.parent / unquote(file_part)).resolve() if file_part else page
                where = f"{page.relative_to(ROOT)}:{number}: {target}"
                if not destination.exists():
                    broken.append(f"{where} (no such file)")
                elif anchor:
                    if destination.suffix != ".md":
                        broken.append(f"{where} (anchor into a file that is not Markdown)")
                    elif anchor not in anchors(destination):
                        broken.append(f"{where} (no heading with this anchor)")
        self.assertEqual(broken, [], "broken links:\n" + "\n".join(broken))

    def test_every_docs_page_is_linked_from_the_readme(self):
        linked = {
            (ROOT / unquote(target.partition("#")[0])).resolve()
            for _, target in links(ROOT / "README.md")
            if target.startswith("docs/")
        }
        missing = [str(p.relative_to(ROOT)) for p in PAGES[1:] if p.resolve() not in linked]
        self.assertEqual(missing, [], "docs/ pages the README does not link")

    def test_slug_matches_github(self):
        self.assertEqual(slug("Docker: `compose.yaml`"), "docker-composeyaml")
        self.assertEqual(slug("The `xy` command"), "the-xy-command")
        self.assertEqual(
            slug("NATS users and permissions (`deploy/nats/authorization.conf`)"),
            "nats-users-and-permissions-deploynatsauthorizationconf",
        )
        self.assertEqual(slug("xy-gateway (`Services/Gateway`, `Libraries/Gateway`)"),
                         "xy-gateway-servicesgateway-librariesgateway")


if __name__ == "__main__":
    unittest.main()
