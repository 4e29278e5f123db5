"""What a question asks for, apart from its topic: a rule, an amount, a product, a diagnosis, a text to write, or
something of the assistant itself. The card gives none of these; near-domain questions that borrow the card's
words ("Wat kost een training traumasensitief werken?") are told apart by the frame, not the topic."""

from __future__ import annotations

import re

from corpus.safe_text import is_instruction
from corpus.text import fold

_FRAMES = {
    "regel": r"wet|wetten|wettelijk\w*|wetsartikel\w*|artikel \d+\w*|in welk artikel|juridisch\w*|aansprakelijk\w*|"
             r"verplicht\w*|toegestaan|meldplicht\w*|cao|arbeidsvoorwaarden|privacywet|avg|gdpr|"
             r"volgens de regels|wat zijn de regels|welke regels gelden|regelgeving|kwalificatieplicht|"
             r"(heb|hebben|heeft) (ik|we|wij|ze|zij|hij|een \w+|de \w+) (\w+ )?recht op|toestemming|toelatingseisen|"
             r"taaleisen|eisen stelt|welke eisen|procedure|meldcode|"
             r"binnen hoeveel|hoe lang van tevoren|deadline|uiterlijk|maximaal hebben|hoeveel \w+ mogen|"
             r"mogen er maximaal|hoeveel leerlingen (mag|mogen|moet|moeten|hebben we nodig)|(een )?groep (te )?(kunnen )?openen|"
             r"mag (ik|een school|de school|we|wij) (\w+ ){0,3}(weigeren|vrij|melden|eisen)|inspectie",
    "bedrag": r"prijs|prijzen|tarief\w*|uurtarief|euro|subsidie\w*|vergoeding\w*|vergoed\w*|declar\w*|"
              r"salaris\w*|loonschaal|schaal l[abc]|wat kost\w*|hoeveel kost\w*|hoeveel geld|hoeveel uur|hoeveel dagen|"
              r"hoeveel dagdelen|hoeveel fte|fte|bekostiging|lumpsum|begroting|wat verdient|wie betaalt|"
              r"ouderbijdrage|lidmaatschap|achterstandsmiddelen|taakuren|studieverlof|verlof|hoeveel procent|"
              r"welk percentage|uitrekenen|bereken\w*|formatie\w*",
    "medisch": r"medicatie|medicijn\w*|ritalin|diagnose\w*|diagnosticer\w*|cardioloog|psychiater|adhd|"
               r"autisme|dyslexie\w*|epilepsie|epileptische|allergie\w*|griepprik|vaccin\w*|therapie|therapeut\w*|"
               r"dosis|dosering|melatonine|insuline|diabetes|koorts|ptss|mutisme|\w*stoornis(sen)?|depressie|depressies",
    "product": r"magister|somtoday|parnassys|esis|cito|leerling in beeld|google classroom|google forms|snappet|gynzy|"
               r"excel|zermelo|microsoft teams|in teams een|breakout-rooms?|sharepoint|word-bestand|ipads?|"
               r"chromebook\w*|inlog\w*|wachtwoord\w*|"
               r"welke app|software|digibord|beamer|sjabloon|template|welke aanbieder|welke methode|"
               r"telefoonnummer\w*|mailadres\w*|e-mailadres\w*|contactgegevens|contactpersoon",
    "tekst": r"vertaal (de|het|een|dit|deze|die|mijn|onze|je|jouw)|schrijf (een|me|mij|voor)|stel een (mail|brief|tekst)|"
             r"maak (me|mij|voor mij|een) (\w+ ){0,2}(les|lesplan|rooster|weekrooster|jaarplanning|powerpoint|"
             r"presentatie|brief|mail|tekst|dictee|draaiboek|toets|quiz)|"
             r"maak (me|mij|voor mij) (een|de|het)|genereer\w*|formuleer (een|me|mij)|gedicht|opstel|samenvatting van|"
             r"vat (dit|dat|het) \w* ?samen|bedenk (een|twee|drie|vier|vijf|tien|\d+|me|mij|voor)",
    "assistent": r"doe alsof|doe eens alsof|speel (een|de|voor)|vergeet (je|alle|de)|negeer|jouw mening|je eigen mening|"
                 r"persoonlijke mening|wat vind jij|ben jij|wie ben je|heb jij (eigenlijk|ook|zelf)|hoe was jouw|"
                 r"hoe gaat het met je|vanaf nu (ben|wil|moet|antwoord)|taalmodel|vertel een (grap|mop)|"
                 r"een (leuke )?(grap|mop)|hoe laat is het|het weer|"
                 r"lievelingsboek|spreek me",
}


_COMPILED = {name: re.compile(rf"\b(?:{p})\b") for name, p in _FRAMES.items()}
# Diagnoses written as acronyms, matched before folding: "ADD" is a diagnosis, "add" an English verb.
_ACRONYMS = re.compile(r"\b(?:ADD|ADHD|ASS|ODD|OCD|PDD-NOS|PTSS|PTSD)\b")


def request_frames(question: str) -> int:
    """How many of the frames above the question uses (0 for an ordinary card question)."""
    text = fold(question)
    found = {name for name, p in _COMPILED.items() if p.search(text)}
    if _ACRONYMS.search(question):
        found.add("medisch")
    return len(found)


def addresses_assistant(question: str) -> bool:
    """The question talks to the assistant instead of asking about school: an instruction ("negeer de kaart",
    "vergeet je instructies"), a role to play, its own opinion or chit-chat with it. Declined whatever its
    topic: text is data, never instructions (on the development sets: 0 of 986 in-scope questions)."""
    return bool(_COMPILED["assistent"].search(fold(question))) or is_instruction(question)
