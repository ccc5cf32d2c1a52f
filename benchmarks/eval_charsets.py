"""How many pages of a charset case list decode right: pairchive's decoder against Scrapy's default.

    python benchmarks/eval_charsets.py --cases FILE.tsv --root DIR

FILE.tsv has the columns path (relative to DIR; .gz is read decompressed), declared_charsets, actual_bytes
("utf-8" or "GBK/GB18030") and case. A page is right when the charset family matches the bytes and the
text has no more U+FFFD replacement characters than the bytes themselves spell out.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from collections import Counter
from pathlib import Path

from w3lib.encoding import html_to_unicode

from crawler.vocabulary.charset import decode_page


def family(name: str) -> str:
    name = name.lower().replace("_", "-")
    return "gb" if name.startswith(("gb", "cp936")) else ("utf-8" if name in ("utf-8", "utf8") else name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args()
    ours: Counter[str] = Counter()
    scrapy_default: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    with args.cases.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = args.root / row["path"]
            if not path.exists():
                continue
            body = path.read_bytes()
            if path.suffix == ".gz":
                body = gzip.decompress(body)
            truth = "utf-8" if row["actual_bytes"].lower() == "utf-8" else "gb"
            spelled = body.count("\ufffd".encode())  # replacement characters the page itself contains
            case = row["case"]
            totals[case] += 1
            decoded = decode_page(body)
            ours[case] += family(decoded.charset) == truth and decoded.text.count("\ufffd") <= spelled
            enc, text = html_to_unicode(None, body)
            scrapy_default[case] += family(enc) == truth and text.count("\ufffd") <= spelled
    print("| case | pages | pairchive decode_page | Scrapy default (w3lib html_to_unicode) |")
    print("| --- | --- | --- | --- |")
    for case in sorted(totals):
        print(f"| {case} | {totals[case]} | {ours[case]} | {scrapy_default[case]} |")
    print(f"| all | {sum(totals.values())} | {sum(ours.values())} | {sum(scrapy_default.values())} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
