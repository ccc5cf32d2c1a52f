"""Class 4, names that escape their pattern: sources files whose source `name` (which becomes a directory
under the WARC directory) is outside `[a-z0-9_-]+` matched whole: a trailing newline (which a `$` lets
through), a path, a parent directory, a backslash, a NUL, nothing at all. Each input is a whole sources
file; the CLI must refuse it in one line naming the file, the source and the key, and write nothing.
"""

from __future__ import annotations

from tests.hostile import Case

SOURCE = """[[source]]
name = {name}
start_urls = ["http://127.0.0.1:9/c04/"]
article_pattern = "/c04/"
schedule = "0 2 * * *"
"""

# The names as TOML writes them.
NAMES = {
    "trailing-newline": '"huli\\n"',
    "trailing-crlf": '"huli\\r\\n"',
    "a-path": '"huli/edu"',
    "the-parent": '".."',
    "up-and-out": '"../../etc"',
    "absolute": '"/tmp/c04"',
    "backslash": '"huli\\\\..\\\\x"',
    "nul": '"huli\\u0000"',
    "empty": '""',
    "capitals-and-space": '"Huli Edu"',
}


def sources_text(name: str) -> str:
    return SOURCE.format(name=name)


CASES = [
    Case(
        klass=4,
        name=f"source-name-{what}",
        does=f"a sources file whose source name is {toml}",
        inputs=(sources_text(toml),),
    )
    for what, toml in NAMES.items()
]
