"""pairchive's application shell: settings, configuration, the source registry, items, the CLI."""

__version__ = "0.1.0"
