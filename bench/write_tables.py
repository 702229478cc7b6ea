#!/usr/bin/python3
"""Replaces one benchmark's block in a markdown document (docs/BENCHMARKS.md).

A block is everything between the lines
    <!-- bench:NAME begin (written by scripts/bench; edits inside are overwritten) -->
    <!-- bench:NAME end -->
and becomes HEADER, a blank line, and the table file's lines (trailing blank lines dropped).
The markers must each appear exactly once; otherwise nothing is written (exit 2). The document
is replaced atomically (written next to it, then renamed).

usage: write_tables.py --doc FILE --name NAME --table FILE --header TEXT
"""
import argparse
import os
import re
import sys


def replace_block(text, name, body):
    begin = re.compile(r"^<!-- bench:%s begin\b.*-->$" % re.escape(name), re.M)
    end = re.compile(r"^<!-- bench:%s end -->$" % re.escape(name), re.M)
    b, e = list(begin.finditer(text)), list(end.finditer(text))
    if len(b) != 1 or len(e) != 1 or b[0].end() > e[0].start():
        raise ValueError(f"needs exactly one '<!-- bench:{name} begin ... -->' line followed by one "
                         f"'<!-- bench:{name} end -->' line (found {len(b)} begin, {len(e)} end)")
    return text[: b[0].end()] + "\n" + body + "\n" + text[e[0].start():]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--doc", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--header", required=True)
    a = p.parse_args()
    with open(a.doc, encoding="utf-8") as f:
        text = f.read()
    with open(a.table, encoding="utf-8") as f:
        lines = f.read().rstrip("\n").split("\n")
    if lines == [""]:
        print(f"write_tables: {a.table}: the driver wrote no table for '{a.name}'", file=sys.stderr)
        return 2
    body = a.header + "\n\n" + "\n".join(lines)
    try:
        out = replace_block(text, a.name, body)
    except ValueError as err:
        print(f"write_tables: {a.doc}: benchmark '{a.name}': {err}", file=sys.stderr)
        return 2
    tmp = a.doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(tmp, a.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
