"""What a question asks for, apart from its topic: a rule, an amount, a product, a diagnosis, a text to write, or
something of the assistant itself. The card gives none of these; near-domain questions that borrow the card's
words ("Wat kost een training traumasensitief werken?") are told apart by the frame, not the topic."""

from __future__ import annotations

import re

from corpus.text import fold

_FRAMES = {
    "regel": r"wet|wetten|wettelijk\w*|wetsartikel\w*|artikel \d+\w*|in welk artikel|juridisch\w*|aansprakelijk\w*|"
             r"verplicht\w*|toegestaan|meldplicht\w*|cao|arbeidsvoorwaarden|privacywet|avg",
    "bedrag": r"prijs|prijzen|tarief\w*|euro|subsidie\w*|vergoeding\w*|declar\w*|salaris\w*|loonschaal|wat kost\w*|"
              r"hoeveel kost\w*|hoeveel geld|hoeveel uur|hoeveel dagen|hoeveel dagdelen",
    "medisch": r"medicatie|medicijn\w*|ritalin|diagnose\w*|diagnosticer\w*|cardioloog|psychiater|adhd|add|"
               r"autisme|dyslexie\w*|epilepsie|allergie\w*|griepprik|vaccin\w*|therapie|therapeut\w*",
    "product": r"magister|somtoday|parnassys|esis|cito|leerling in beeld|google classroom|snappet|gynzy|excel|"
               r"chromebook\w*|inlog\w*|wachtwoord\w*",
    "tekst": r"vertaal (de|het|een|dit|deze|die|mijn|onze)|schrijf (een|me|mij|voor)|"
             r"maak (me|mij|voor mij) (een|de|het)|genereer\w*|formuleer (een|me|mij)|gedicht|opstel|samenvatting van",
    "assistent": r"doe alsof|vergeet (je|alle|de)|negeer|jouw mening|je eigen mening|wat vind jij|ben jij|wie ben je|"
                 r"vertel een (grap|mop)|hoe laat is het|het weer",
}


_COMPILED = tuple(re.compile(rf"\b(?:{p})\b") for p in _FRAMES.values())


def request_frames(question: str) -> int:
    """How many of the frames above the question uses (0 for an ordinary card question)."""
    text = fold(question)
    return sum(1 for p in _COMPILED if p.search(text))
