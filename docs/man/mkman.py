#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkman.py: builds a man page from its template and README.md.

The reference tables (options, settings, result fields, error classes) have
one source: README.md. A template (docs/man/*.in, roff) names the table it
wants on a line of its own:

    @TABLE ### `probe`@

and gets, in its place, the first Markdown table after that README heading
(before the next heading), as a .TP list: the setting (or option, field,
class) as the tag, the meaning as the paragraph, the other columns (type,
default, ...) in brackets after it. A row added to a README table therefore
reaches the man page at the next `make`, with nothing else to update. When
a heading is renamed or a table removed, the build stops here and names the
template line: fix the heading in the template.

Usage: mkman.py README.md TEMPLATE >PAGE
"""
import re
import sys

TAG_HEADERS = ("setting", "option", "field", "class")


def roff_escape(text):
    text = text.replace("\\", "\\e")
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
        else:
            out.append("\\[u%04X]" % ord(ch))
    return "".join(out)


def inline(md):
    """Markdown inline text (code, bold, emphasis, links) to roff."""
    md = md.replace("\\|", "|")
    parts = md.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:  # code
            out.append("\\fB" + roff_escape(part).replace("-", "\\-") + "\\fR")
            continue
        part = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", part)
        part = roff_escape(part)
        part = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part)
        part = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", part)
        out.append(part)
    return "".join(out)


def line_safe(text):
    """Keeps a text line from being read as a roff request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def split_row(line):
    line = line.strip().replace("\\|", "\0")
    cells = [c.strip().replace("\0", "\\|") for c in line.strip("|").split("|")]
    return cells


def find_table(readme, heading):
    """Rows (header first) of the first table after heading, or None."""
    start = None
    for i, line in enumerate(readme):
        if line.rstrip() == heading:
            start = i + 1
            break
    if start is None:
        return None
    rows = []
    in_code = False
    for line in readme[start:]:
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("#"):
            break  # the next section: no table under this heading
        if line.startswith("|"):
            cells = split_row(line)
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            rows.append(cells)
        elif rows:
            break
    return rows or None


def table_to_roff(rows):
    header = [h.lower() for h in rows[0]]
    tag = 0
    for i, h in enumerate(header):
        if h in TAG_HEADERS:
            tag = i
            break
    meaning = len(header) - 1
    out = []
    for cells in rows[1:]:
        cells = cells + [""] * (len(header) - len(cells))
        out.append(".TP")
        out.append(line_safe(inline(cells[tag])))
        body = inline(cells[meaning])
        extra = [
            "%s: %s" % (header[i], inline(cells[i]))
            for i in range(len(header))
            if i not in (tag, meaning) and cells[i]
        ]
        if extra:
            body += " [" + "; ".join(extra) + "]"
        out.append(line_safe(body))
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mkman.py README.md TEMPLATE >PAGE\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        readme = f.read().split("\n")
    out = []
    with open(argv[2], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.fullmatch(r"@TABLE (.+)@", line)
            if not m:
                out.append(line)
                continue
            rows = find_table(readme, m.group(1))
            if not rows:
                sys.stderr.write(
                    "%s:%d: %s has no table under the heading \"%s\": "
                    "fix the heading in the template\n"
                    % (argv[2], n, argv[1], m.group(1)))
                return 1
            out.extend(table_to_roff(rows))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
