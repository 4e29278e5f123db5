"""praktijkkaart-assistent: application glue (settings, CLI)."""

__version__ = "0.1.0"
