"""`python -m crawler` is `pairchive`."""

from crawler.cli import main

main()
