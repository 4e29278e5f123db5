"""Text from outside the card is data: pure helpers that make it plain, spot instructions in it, and keep every
rendered link to the card's own links.

- `plain_text`: what is left of untrusted text once every link, image, HTML tag, entity, URL, e-mail address
  and invisible character is gone (the visible text of a link stays, never its target).
- `is_instruction` / `has_canary`: sentences that talk to the reader's assistant, or carry planted codes.
- `is_quotable`: a sentence of untrusted text that may be quoted verbatim in an answer.
- `safe_markdown`: defence in depth for everything rendered: only the allowed (corpus) hrefs stay clickable.

Every regex here is linear-time: no nested quantifiers over overlapping classes, and patterns that start
inside a run of word characters are anchored by a look-behind so that a run is scanned once.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection
from itertools import pairwise

from corpus.text import strip_accents

LINK_REMOVED = "(link weggelaten)"
EMAIL_REMOVED = "(e-mailadres weggelaten)"

# --- plain text ----------------------------------------------------------------------------------------

_INVISIBLE_CATEGORIES = ("Cc", "Cf", "Co", "Cs", "Cn")
_TEXT = r"(?:[^\[\]\\\n]|\\.){0,500}"  # link text: no unescaped bracket, no newline
_DEST = (r"[ \t]*(?:<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
         r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*")
_IMAGE = re.compile(rf"!\[({_TEXT})\](?:\(({_DEST})\)|\[[^\[\]\n]{{0,200}}\])")
_LINK = re.compile(rf"\[({_TEXT})\](?:\(({_DEST})\)|\[[^\[\]\n]{{0,200}}\])")
_REF_DEF = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)*\[[^\[\]\n]{1,200}\]:[^\n]*$", re.MULTILINE)
_TAG = re.compile(r"<[A-Za-z/!?][^<>\n]*>?")
_SCHEMES = ("javascript|vbscript|livescript|data|file|ftp|ftps|sftp|mailto|tel|sms|blob|about|view-source|jar|"
            "intent|ws|wss|irc|ssh|smb|magnet|callto|skype|whatsapp|market|xmpp")
_URL = re.compile(rf"(?<![\w@])(?:[a-z][a-z0-9+.\-]{{0,30}}://|(?:{_SCHEMES}):(?=\S)|//(?=[\w-])|\\\\(?=[\w-])|"
                  r"www\d{0,3}\.)[^\s<>\"'`]*", re.IGNORECASE)
_AT = r"(?:[ \t]*@[ \t]*|[ \t]*[\[({<][ \t]*(?:at|apenstaartje|@)[ \t]*[\])}>][ \t]*)"
_DOT = r"(?:\.|[ \t]*[\[({<][ \t]*(?:dot|punt|\.)[ \t]*[\])}>][ \t]*)"
_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+", re.IGNORECASE)
_PLAIN_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TLDS = "nl|com|org|net|eu|be|de|io|info|edu|gov|uk|example|invalid|test|local|localhost|onion|app|dev|xyz|ru|biz|co"
_BARE_DOMAIN = re.compile(rf"(?<![\w@.\-])(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>\"'`]*)?", re.IGNORECASE)
_TRAILING = ".,;:!?'\""


def _visible(s: str) -> str:
    """Control, format (zero-width, bidi) and unassigned characters removed; tabs and odd spaces to ' '."""
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in s:
        if ch == "\n":
            out.append(ch)
        elif ch == "\t" or unicodedata.category(ch) in ("Zs", "Zl", "Zp"):
            out.append("\n" if unicodedata.category(ch) in ("Zl", "Zp") else " ")
        elif unicodedata.category(ch) not in _INVISIBLE_CATEGORIES:
            out.append(ch)
    return "".join(out)


def _unescape(s: str) -> str:
    """HTML entities decoded until none is left (a doubly encoded `&amp;lt;` too)."""
    for _ in range(4):
        decoded = html.unescape(s)
        if decoded == s:
            break
        s = decoded
    return s


def _url_core(url: str) -> str:
    """The URL without the sentence punctuation after it (a ')' only when it closes nothing in the URL)."""
    core = url.rstrip(_TRAILING)
    while core.endswith(")") and core.count(")") > core.count("("):
        core = core[:-1].rstrip(_TRAILING)
    return core


def _replace_url(m: re.Match[str], placeholder: str = LINK_REMOVED) -> str:
    """The placeholder for a URL, keeping the sentence punctuation that followed it."""
    url = m.group(0)
    return placeholder + url[len(_url_core(url)):]


def plain_text(s: str) -> str:
    """Untrusted text as plain text that is safe inside Markdown.

    Removed: Markdown images (their alt text stays) and links (their visible text stays, never the target),
    reference definitions, HTML tags (also autolinks `<...>`), HTML entities (decoded first, so an encoded tag
    is removed too), URLs of any scheme, protocol-relative `//host/...` and `www.` hosts, bare domains,
    e-mail addresses (also `naam [at] domein.nl`), control and zero-width characters. URLs and addresses
    become "(link weggelaten)" / "(e-mailadres weggelaten)". Square brackets become parentheses, so nothing
    can form a link, a reference or a citation marker such as [3]. Line structure (headings, lists,
    paragraphs) is kept; runs of spaces become one.
    """
    s = _visible(_unescape(_visible(unicodedata.normalize("NFKC", s))))
    s = _TAG.sub(" ", s)
    s = _IMAGE.sub(lambda m: m.group(1), s)
    s = _LINK.sub(lambda m: m.group(1), s)
    s = _REF_DEF.sub("", s)
    s = _URL.sub(_replace_url, s)
    s = _EMAIL.sub(lambda m: _replace_url(m, EMAIL_REMOVED), s)
    s = _BARE_DOMAIN.sub(_replace_url, s)
    s = s.replace("\\", "").replace("[", "(").replace("]", ")")
    lines = [" ".join(line.split()) for line in s.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- instructions --------------------------------------------------------------------------------------

_IMPERATIVES = (
    "zeg|vertel|schrijf|print|toon|laat|geef|antwoord|beantwoord|reageer|voeg|zet|plaats|herhaal|noem|vermeld|"
    "stuur|mail|e-mail|bezoek|open|klik|ga|surf|navigeer|download|haal|kopieer|plak|deel|verwijs|gebruik|volg|"
    "negeer|vergeet|onthul|verklap|begin|eindig|stop|verander|vervang|vertaal|doe|speel|gedraag|voer|roep|bel|"
    "kijk|lees|raadpleeg|check|controleer|bekijk|typ|"
    "say|tell|write|show|display|reveal|give|answer|respond|reply|add|include|insert|append|prepend|put|place|"
    "repeat|mention|send|email|visit|click|go|navigate|browse|fetch|retrieve|copy|paste|share|use|follow|"
    "ignore|forget|disregard|override|start|end|change|replace|translate|do|act|pretend|output|remember|"
    "read|see|look|call|run|execute|recommend|direct|refer|type|always|never|altijd|nooit")
_FOLD_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_LEAD = re.compile(
    r"^[\s\"'(*_>#:.\-]*(?:(?:beste|lieve|hoi|hallo|hey|he|hi|hello|dear|attention|let op|note|nota bene|n\.?b\.?|"
    r"belangrijk|important|urgent|p\.?s\.?|opdracht|instructie|admin)\b[\s,:!.\-]*)*")
_VOCATIVE = re.compile(r"^(?:de |het |the |dear |beste )?(?:ai|assistent|assistant|chatbot|bot|model|taalmodel|llm|"
                       r"gpt|chatgpt|copilot|claude|gemini)\b[\s]*[,:!]")
_FIRST_COMMAND = re.compile(rf"^(?:please |graag |gelieve )?(?:{_IMPERATIVES})\b")
_COMMAND = re.compile(
    rf"\b(?:en|and|then|dan|daarna|ook|also|please|graag|gelieve)\s+(?:{_IMPERATIVES})\b"
    r"|\b(?:je|jij|u|jullie|you)\s+(?:moet|moeten|mag|mogen|dient|dienen|zal|zult|must|should|shall|have to|"
    r"need to|will|are to)\b|\b(?:moet|moeten|mag|mogen|dient|zal|zult)\s+(?:je|jij|u|jullie)\b")
_MODAL = re.compile(r"\b(?:moet|moeten|dient|dienen|mag|mogen|zal|zult|zullen|must|should|shall|has to|have to|"
                    r"needs? to|is required|are required|may not|cannot|can't|never|always|nooit|altijd)\b")
_ASSISTANT = re.compile(r"\b(?:assistente?|assistant|ai|ai-\w+|taalmodel(?:len)?|language models?|chatbots?|"
                        r"chat-?gpt|gpt(?:-?\d)?|llms?|copilot)\b")
_MODEL = re.compile(r"\b(?:het|the|dit|this|jij als|you as) (?:taal)?model\b")
_USER = r"(?:de|het|the|elke|iedere|any|every|een|a) (?:gebruikers?|users?|lezers?|readers?|vraagsteller|bezoekers?|visitors?)\b"
_TELL_USER = re.compile(
    r"\b(?:zeg|vertel|meld|laat|informeer|adviseer|raad|waarschuw|overtuig|vraag|stuur|verwijs|geef|toon|"
    rf"tell|say|inform|advise|warn|recommend|convince|ask|send|direct|refer|give|show)\b[^.!?]{{0,60}}?\b{_USER}")
_OVERRIDE_VERB = (r"\b(?:negeer|vergeet|ignore|disregard|forget|override|overrule|overschrijf|omzeil|bypass|skip|"
                  r"schrap|verwerp|discard|houd (?:je|u) niet (?:meer )?aan|stop met het volgen van|stop following|"
                  r"no longer follow|niet langer (?:op)?volgen|do not follow|don't follow)\b(?! niet\b| not\b)")
_RULES = (r"(?:instructies?|instructions?|prompts?|systeemprompt|systeeminstructies|opdrachten|richtlijnen|"
          r"guidelines|directives|programmering|programming|safeguards|beperkingen|restrictions"
          r"|(?:eerdere|eerder|vorige|voorgaande|bovenstaande|oorspronkelijke|originele|alle|je|jouw|uw|your|all|"
          r"previous|prior|above|earlier|original|preceding|system|systeem)\s+(?:\S+\s+)?"
          r"(?:regels?|rules?|afspraken|orders?|commands?|context|voorschriften|policy|policies)"
          r"|alles hierboven|al het voorgaande|(?:alles )?wat (?:je|u|jij|jullie) (?:eerder |hierboven )?"
          r"(?:is |werd |hebt |heeft )?(?:gezegd|verteld|opgedragen|gevraagd)"
          r"|everything (?:above|before|prior|you (?:were|have been) told)|(?:all of )?the above)\b(?! niet\b)")
_OVERRIDE = re.compile(rf"{_OVERRIDE_VERB}[^.!?]{{0,60}}?\b{_RULES}")
_META = re.compile(
    r"systeem-?prompt|system ?prompt|developer (?:message|mode|prompt)|jailbreak|\bdan mode\b|"
    r"verborgen (?:instructies|prompt|opdracht)|hidden (?:instructions?|prompt)|"
    r"\b(?:je|jij|u) bent (?:nu|vanaf nu|voortaan) (?:een |de |het )?(?:andere|nieuwe|ander|onbeperkte|vrije|ai|"
    r"assistent|bot|chatbot|taalmodel)\b|\b(?:ai|assistent|assistant|chatbot|model|taalmodel|bot)\b[^.!?]{0,30}"
    r"\b(?:zonder|without|no) (?:beperkingen|regels|filters|restricties|restrictions|rules|limits)\b|"
    r"\byou are (?:now|no longer)\b|\bfrom now on\b|\bvanaf nu (?:\w+ ){0,2}(?:je|jij|u)\b|"
    r"\bdoe alsof (?:je|jij|u)\b|\bpretend (?:to be|you)\b|\bact as\b|\bgedraag (?:je|u) als\b|\bspeel de rol\b|"
    r"\brole-?play\b|\b(?:nieuwe|new|updated|aangepaste|geheime|secret) (?:instructies|instructions|rules|regels)\b|"
    r"\b(?:instructies?|opdracht|bericht|notitie|opmerking|note|message|instructions?|memo) (?:voor|aan|to|for) "
    r"(?:de |het |the |een |an? )?(?:ai|assistent|assistant|taalmodel|model|chatbot|llm|bot)\b")
_ANSWER_TARGET = re.compile(
    r"\b(?:in|aan|bij|van|onder|boven|onderaan|bovenaan|to|into|at|with|of)\s+(?:je|jouw|uw|elk|ieder|"
    r"iedere|al je|alle|your|every|each|all|any)\s+(?:\w+\s+)?(?:antwoord|antwoorden|reactie|reacties|response|"
    r"responses|answer|answers|reply|replies|output|outputs|samenvatting|summary)\b|"
    r"\b(?:begin|start|eindig|end|sluit|open|prefix|suffix)\s+(?:je|jouw|uw|elk|ieder|iedere|al je|alle|your|"
    r"every|each|all|any)\s+(?:\w+\s+)?(?:antwoord|antwoorden|reactie|response|answer|reply)\b")
_SAY_THAT = re.compile(r"^(?:zeg|say|print|output|schrijf|write|typ|type|herhaal|repeat)\b\s*(?:dat|that|:|\"|'|"
                       r"letterlijk|literally|verbatim|exactly|precies|het volgende|the following|deze tekst|this text)"
                       r"|^(?:antwoord|answer|respond|reply|reageer)\s+(?:altijd|always|nooit|never|alleen|"
                       r"uitsluitend|only|dat|that|met (?:het woord|de tekst|de zin)|with (?:the word|the text))")
_REVEAL = re.compile(
    r"\b(?:toon|laat|geef|onthul|verklap|print|show|reveal|display|output|dump|leak|herhaal|repeat|tell)\b[^.!?]{0,40}"
    r"\b(?:je|jouw|uw|your)\s+(?:\w+\s+)?(?:prompt|configuratie|configuration|config|instellingen|settings|"
    r"bronbestanden|source files|broncode|source code|initial instructions|eerste instructies)\b"
    r"|\b(?:instructies|instructions|prompt|regels|rules)\b[^.!?]{0,20}\b(?:woord voor woord|letterlijk|verbatim|"
    r"word for word)\b")
_FROM_NOW = re.compile(r"\b(?:vanaf nu|from now on|voortaan|henceforth)\b")
_LINK_TARGET = re.compile(
    r"\b(?:link|links|linkje|url|urls|hyperlinks?|webadres(?:sen)?|internetadres|e-?mailadres|email address|"
    r"websites?|webpagina|webpage|site|domein|domain)\b|\(link weggelaten\)|\(e-mailadres weggelaten\)|"
    r"\b\w[\w-]*\.(?:ya?ml|json|env|py|sh|cfg|ini|toml)\b|\b(?:klik|click|tap|druk)\s+(?:hier|here|op)\b")


def _folded(s: str) -> str:
    return " ".join(strip_accents(_visible(s).translate(_FOLD_QUOTES).lower()).split())


def is_instruction(sentence: str) -> bool:
    """Does this sentence try to instruct the reader's assistant? Decided by what the sentence does.

    Giving advice to a reader ("Ga in gesprek met ouders", "Je kunt de checklist gebruiken") is what
    resources and the card do all the time, so a command or a "je" alone is not enough. A sentence is an
    instruction when it
    1. tells someone to ignore, forget or override rules or instructions ("Vergeet alle eerdere regels",
       "Ignore all previous instructions"; "vergeet niet ..." is a reminder and does not count);
    2. is about the conversation itself: a system prompt, hidden or new instructions, a new role
       ("je bent nu een andere assistent", "act as", "vanaf nu ... je"), a note to the AI, or a command
       "from now on"; or asks to reveal its prompt, configuration or instructions word for word;
    3. addresses the assistant: a vocative ("Assistent, ...") or an assistant word (assistent, AI, taalmodel,
       chatbot, LLM) with a command (modal "moet/mag niet/must/always" or an imperative);
    4. tells someone to say something to the user ("Zeg tegen de gebruiker ...", "tell the user");
    5. is about the answer being written ("zet ... in je antwoord", "begin elk antwoord met ...");
    6. commands to say or print something ("Zeg dat ...", "Print: ...");
    7. commands (an imperative first or after "en"/"and", or "je moet"/"you must") a link, URL, website,
       e-mail address or file, or a visit/click ("Klik hier", "Ga naar (link weggelaten)").
    Dutch and English; case, accents and typographic quotes are folded first.
    """
    s = _folded(sentence)
    head = _LEAD.sub("", s, count=1)
    if _VOCATIVE.match(head) or _OVERRIDE.search(s) or _META.search(s) or _REVEAL.search(s):
        return True
    commanded = bool(_FIRST_COMMAND.match(head) or _COMMAND.search(s))
    if (_ASSISTANT.search(s) and (commanded or _MODAL.search(s))) or (commanded and _FROM_NOW.search(s)):
        return True
    if _MODEL.search(s) and (_ANSWER_TARGET.search(s) or _TELL_USER.search(s) or _LINK_TARGET.search(s)):
        return True
    if _TELL_USER.search(s) or _ANSWER_TARGET.search(s) or _SAY_THAT.match(head):
        return True
    return commanded and bool(_LINK_TARGET.search(s))


_CODE = re.compile(r"\b[A-Z]{3,}[-_:](?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{2,}\b")
_CANARY_WORD = re.compile(r"\bcanary\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_+/=-]{6,}")


def _random_token(token: str) -> bool:
    """Long mixed letter/digit strings (keys, hashes) or short all-caps codes that switch often (X7K9Q2)."""
    digits = sum(ch.isdigit() for ch in token)
    letters = sum(ch.isalpha() for ch in token)
    switches = sum(a.isdigit() != b.isdigit() for a, b in pairwise(token) if a.isalnum() and b.isalnum())
    if len(token) >= 12:
        return digits >= 3 and letters >= 3 and switches >= 4
    return token.upper() == token and digits >= 2 and letters >= 2 and switches >= 3


def has_canary(sentence: str) -> bool:
    """A planted code: 'CANARY-7f3a'-like (capitals, a separator, letters and digits), the word canary, or a
    random-looking token. 'COVID-19', 'PO-VO' or '2021-2022' are not codes."""
    if _CODE.search(sentence) or _CANARY_WORD.search(sentence):
        return True
    return any(_random_token(m.group(0)) for m in _TOKEN.finditer(sentence))


def is_quotable(sentence: str) -> bool:
    """May this sentence of untrusted text be quoted verbatim? Plain already (nothing to strip), not an
    instruction, no planted code, and it pointed nowhere (no removed link or address in it)."""
    return (plain_text(sentence) == sentence.strip() and not is_instruction(sentence) and not has_canary(sentence)
            and LINK_REMOVED not in sentence and EMAIL_REMOVED not in sentence)


# --- safe Markdown -------------------------------------------------------------------------------------

_MD_TOKEN = re.compile(
    rf"(?P<esc>\\[^\n])"
    rf"|(?P<image>!\[(?P<alt>{_TEXT})\](?:\({_DEST}\)|\[[^\[\]\n]{{0,200}}\]))"
    r"|(?P<refdef>^[ \t]{0,3}(?:>[ \t]?)*\[(?:[^\[\]\\\n]|\\.){1,200}\]:)[ \t]*(?P<refdest><[^<>\n]*>|[^\s<>]+)?"
    rf"|(?P<link>\[(?P<text>{_TEXT})\]\((?P<dest>{_DEST})\))"
    r"|<(?P<auto>[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>"
    r"|(?P<lt><)"
    rf"|(?P<url>{_URL.pattern})"
    rf"|(?P<email>{_PLAIN_EMAIL.pattern})"
    r"|(?P<brk>\](?=[(:]))",
    re.MULTILINE | re.IGNORECASE)
_HTTP = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def _target(dest: str) -> str:
    """The href of a link destination (`<url>` or url, an optional title dropped)."""
    dest = dest.strip()
    if dest.startswith("<"):
        return dest[1:].split(">", 1)[0]
    return dest.split(None, 1)[0] if dest else ""


def _allowed(href: str, allowed: frozenset[str]) -> bool:
    """Exactly an allowed href (parentheses may be %-encoded; a bare `www.` host stands for http(s)://www.)."""
    forms = {href, href.replace("%28", "(").replace("%29", ")")}
    if href.lower().startswith("www."):
        forms |= {f"http://{href}", f"https://{href}"}
    return not forms.isdisjoint(allowed)


def safe_markdown(md: str, allowed_hrefs: Collection[str]) -> str:
    """Markdown in which only links to `allowed_hrefs` (exact http(s) URLs: the corpus links) are clickable.

    Inline links and reference definitions to other targets lose their target (the link text stays),
    images become their alt text, autolinks and bare URLs (any scheme, `//host`, `www.`) and e-mail
    addresses become "(link weggelaten)" / "(e-mailadres weggelaten)", every other `<` becomes `&lt;` (no raw
    HTML), and a `](` or `]:` left over (e.g. a link whose text spans lines) is broken by a backslash.
    Backslash escapes pass through unchanged.
    """
    allowed = frozenset(h for h in allowed_hrefs if _HTTP.fullmatch(h))

    def one(m: re.Match[str]) -> str:
        if m.group("esc") is not None:
            return m.group(0)
        if m.group("image") is not None:
            return safe_markdown(m.group("alt"), allowed)
        if m.group("refdef") is not None:
            dest = m.group("refdest") or ""
            if _allowed(_target(dest), allowed):
                return m.group(0)
            return m.group("refdef")[:-1] + "\\: " + safe_markdown(dest, allowed)
        if m.group("link") is not None:
            text, href = safe_markdown(m.group("text"), allowed), _target(m.group("dest"))
            return f"[{text}]({href})" if _allowed(href, allowed) else text
        if m.group("auto") is not None:
            return m.group(0) if _allowed(m.group("auto"), allowed) else LINK_REMOVED
        if m.group("lt") is not None:
            return "&lt;"
        if m.group("url") is not None:
            return m.group(0) if _allowed(_url_core(m.group(0)), allowed) else _replace_url(m)
        if m.group("email") is not None:
            return EMAIL_REMOVED
        return "]\\"  # brk

    return _MD_TOKEN.sub(one, md)
