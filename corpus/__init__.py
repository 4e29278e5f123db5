"""The praktijkkaart as typed data: load_card() reads praktijkkaart.yaml + links.yaml."""

from corpus.model import (
    KIND_LABELS,
    Card,
    Item,
    Link,
    Synonyms,
    Theme,
    load_card,
    load_synonyms,
)

__all__ = ["KIND_LABELS", "Card", "Item", "Link", "Synonyms", "Theme", "load_card", "load_synonyms"]
