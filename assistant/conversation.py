"""Reading a question in its conversation: is it a follow-up, and does it name a school type?

A follow-up is merged with the earlier question only when it leans on it: it points back ("daarover",
"kan dat ook …", "die handreiking") or has no topic of its own once the connectives, generic request words
and school types are taken out ("en voor het VO?"). A question with its own topic is judged on its own, so
"Hoeveel vakantiedagen heb ik?" after a question about parents is declined, not glued to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.inputs import valid_text
from assistant.text import fold, words
from assistant.types import SchoolFilter, Turn

_ANAPHOR = re.compile(
    r"\b(daar|daarover|daarvan|daarbij|daarmee|daarvoor|hiervan|hierover|hierbij|hiermee|ervan|erover|ermee|"
    r"meer over|more about)\b"
    r"|\b(die|deze|dat|dit|those|these|that)\s+(ambtenaren|kaart|handreiking\w*|bron\w*|links?|interventies?|"
    r"aanpak|checklists?|vragen|suggesties?|partners?|tips?|boeken?|scan|website|route|leidraad|infosheets?|"
    r"lijst(en)?|versies?|documenten?|brochures?|folders?|gids|overzicht|materiaal|methodes?|programma'?s?|"
    r"trainingen|training|cursus(sen)?|voorbeelden?|werkwijzen?|organisaties?|initiatie(f|ven)|projecten?|"
    r"publicaties?|artikelen?|rapport|onderzoek|instrumenten?|vragenlijsten?)\b"
    r"|\b(kan|kun|werkt|geldt|is|gaat|lukt|past|betekent|houdt|does|can)\s+(dat|dit|het|that|this|it)\b|\bdat ook\b"
    r"|\b(zoiets|zo iets|iets dergelijks|iets vergelijkbaars|something like that|something similar)\b"
    r"|\b(daar|hier)(na|naar|op|in|aan|uit|tegen|om|onder|door|toe|tussen)\b"  # the other pronominal adverbs
    r"|\b(heb|hebben|heeft|doe|doen|kan|kun|kunnen|moet|moeten)\s+(ik|we|wij|je|jij|u|ze|zij|hij)?\s*"
    r"er\s+(\w+\s+){0,3}(aan|mee|over|van|bij|op|in|voor|naar|uit)\b"  # split: "heb ik er weinig aan"
    r"|\b(datzelfde|diezelfde|ditzelfde|hetzelfde)\b"
    r"|\b(als|wanneer|zodra|nu)\s+(ik|we|wij|je|jij|u)\s+(dat|dit)\b"  # "als ik dat eenmaal weet"
    r"|\b(hebben|heeft|zijn|is|doen|werken|kunnen)\s+(die|deze)\b(?!\s+\w+\s+(die|dat)\b)"  # "hebben die een ..."
    r"|\b(dat|dit)(\s+\w+)?\s*[?.!]*\s*$",  # "kunnen we dat organiseren?", "hoe doe ik dat?"
    re.IGNORECASE)

# Words that ask for more of the same without naming a topic.
_GENERIC = frozenset(fold(w) for w in """
vertel vertellen uitleg uitleggen leg bedoel bedoelt bedoeld precies concreet concreter voorbeeld voorbeelden
tips tip links link bronnen bron boeken boek lezen aanraden aangeraden raad handreiking handreikingen meer
anders nog ook verder welke wat hoe zit zitten doen werkt werken kunnen kan kun aanpakken aanpak
specifiek specifieker vooral alleen eigenlijk graag dank bedankt oke ok please tell more example examples
explain about also what how which does work situatie geval gevallen zo'n zulke school scholen klas klassen
versie versies variant vorm editie document documenten pdf materiaal informatie info tekst lijst
version one kind same bestaat bestaan uitvoering uitvoeringen hiernaast daarnaast ernaast
""".split())

# The asker describing their own setting ("waar ik ook een paar uur lesgeef", "waar ik werk") names no topic.
_SELF_CLAUSE = re.compile(r"\b(waar|waarin|waarop|die)\s+(ik|we|wij)\s+(\w+\s+){0,5}?"
                          r"(lesgeef|lesgeven|les geef|les geven|werk|werken|sta|staan|invallen|inval|begeleid|"
                          r"begeleiden)\b", re.IGNORECASE)

_PO = re.compile(r"\b(po|bao|basisschool|basisscholen|basisonderwijs|primair onderwijs|groep\s*[1-8]|gr\.?\s*[1-8]|"
                 r"groepen\s*[1-8]|kleuters?|kleutergroep\w*|primary school|primary)\b", re.IGNORECASE)
_VO = re.compile(r"\b(vo|voortgezet onderwijs|middelbare|brugklas\w*|brugpiepers|havo|vwo|vmbo|mavo|gymnasium|"
                 r"lyceum|isk|secondary school|secondary|high school)\b", re.IGNORECASE)
_SCHOOL_WORDS = frozenset(fold(w) for w in """
po bao basisschool basisscholen basisonderwijs primair onderwijs groep groepen gr kleuter kleuters kleutergroep
vo voortgezet middelbare brugklas brugklassers brugpiepers havo vwo vmbo mavo gymnasium lyceum isk secondary
primary high kindcentrum kindcentra ikc locatie locaties vestiging afdeling sbo so vso mbo praktijkonderwijs
""".split())


# An earlier turn is cut to this many characters (the length limit of a question): `--history` and the
# Python API take any JSON, and a 20 KB earlier turn cost 48 s and 455 MB in the merged query.
MAX_TURN_CHARS = 2000
# Of the earlier question, only the start joins a follow-up's query: it supplies the topic, and the
# embedder reads at most 128 tokens (~500 characters of Dutch), so a long earlier question would otherwise
# push the follow-up itself out of what is embedded. The longest golden question is 361 characters.
MAX_MERGED_CHARS = 400


def bounded_history(turns: list[Turn], max_turns: int, max_chars: int = MAX_TURN_CHARS) -> list[Turn]:
    """The part of a conversation a question is read in: from the max_turns-th last user turn on (the
    assistant's turns in between kept), each turn cut to max_chars and without lone surrogates (nothing
    downstream can encode them). Everything older is not looked at."""
    if max_turns <= 0:
        return []
    start, seen = len(turns), 0
    while start > 0 and seen < max_turns:
        start -= 1
        seen += turns[start].role == "user"
    return [Turn(t.role, valid_text(t.content[:max_chars])) for t in turns[start:]]


@dataclass(frozen=True)
class ReadQuestion:
    query: str  # what retrieval and the scope decision see
    followup_of: str | None  # the earlier question it was merged with, or None
    school_type: SchoolFilter | None  # named in the question (exactly one of PO / VO), else the last one named earlier


def school_type_in(text: str) -> SchoolFilter | None:
    """'po' or 'vo' when the text names exactly one school type (groep 8 *and* VO: neither)."""
    po, vo = bool(_PO.search(text)), bool(_VO.search(text))
    if po == vo:
        return None
    return "po" if po else "vo"


def own_topic_words(question: str) -> list[str]:
    """Content words that name a topic: no connectives, generic request words, school types or numbers."""
    bare = _SELF_CLAUSE.sub(" ", question)
    return [w for w in words(bare) if w not in _GENERIC and w not in _SCHOOL_WORDS and not w.isdigit()]


def is_followup(question: str) -> bool:
    return bool(_ANAPHOR.search(question)) or not own_topic_words(question)


_CONTINUES = re.compile(r"^\W*(en|maar|of|ook|and|but|also)\b", re.IGNORECASE)


def continues(question: str) -> bool:
    """Opens like a turn in a conversation ("en hoe zorgen we dat ...?"): it may lean on the earlier question
    even with a topic of its own (the assistant then tries both readings, assistant/core.py)."""
    return bool(_CONTINUES.match(question))


def read_question(question: str, history: list[Turn] | None, max_turns: int, *, merge: bool = False) -> ReadQuestion:
    """The question as retrieval sees it: merged with the earlier question when it is a follow-up (or when
    `merge` asks for that reading), else on its own."""
    earlier = [t.content for t in bounded_history(history or [], max_turns) if t.role == "user" and t.content.strip()]
    school = school_type_in(question) or _named_earlier(earlier)
    if not earlier or not (merge or is_followup(question)):
        return ReadQuestion(question, None, school)
    previous = earlier[-1]
    return ReadQuestion(f"{previous[:MAX_MERGED_CHARS]} {question}", previous, school)


def _named_earlier(earlier: list[str]) -> SchoolFilter | None:
    """The school type the asker named last in the conversation: a new topic does not change the school they
    work at ("mijn groep 6 ..." then "hoe trekken we dat door naar de hele school?" still asks for the PO
    version). A type named in the question itself wins."""
    return next((st for text in reversed(earlier) if (st := school_type_in(text)) is not None), None)
