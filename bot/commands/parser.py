"""Parsing `/sota` command text into structured commands, without ever raising.

Everything a user types after `/sota` arrives here: subcommands (with typo correction),
quoted phrases (shlex-like, but an unbalanced quote just runs to the end), `TASK on
DATASET by METRIC`, subscription targets, digest settings, times and time zones. Bad input
becomes a `ParseError` carrying a short message and the usage line of the command, so the
reply can always be "what went wrong" plus "how to say it".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

MAX_COMMAND_CHARS = 1000  # longer input is refused, not parsed
MAX_KEYWORD_CHARS = 100
MAX_LIST_ITEMS = 20  # categories or keywords set in one command

USAGE: dict[str, str] = {
    "sota": "/sota TASK [on DATASET] [by METRIC] [private]",
    "paper": "/sota paper ARXIV_ID|URL",
    "trending": "/sota trending [CATEGORY]",
    "search": "/sota search QUERY",
    "subscribe": '/sota subscribe TASK | category:cs.CV | keyword:"..."',
    "unsubscribe": '/sota unsubscribe TASK | category:cs.CV | keyword:"..." | all',
    "subscriptions": "/sota subscriptions",
    "digest": "/sota digest on|off|at HH:MM [TIME_ZONE]|categories CAT...|keywords WORD...|preview",
    "help": "/sota help [COMMAND]",
}
SUBCOMMANDS = tuple(USAGE)
# Only words no task name starts with: an alias shadows every task that begins with it.
ALIASES: dict[str, str] = {
    "leaderboard": "sota", "lb": "sota",
    "sub": "subscribe", "unsub": "unsubscribe", "subs": "subscriptions",
    "?": "help", "-h": "help", "--help": "help",
}

_OPEN_QUOTES: dict[str, str] = {
    '"': '"”', "'": "'’", "“": '”"', "‘": "’'", "„": '“”"', "«": "»", "‚": "‘’'",
}


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class ParseError:
    """A short answer to bad input; `command` names the usage line to show."""

    message: str
    command: str | None = None


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    tokens: tuple[Token, ...] = ()
    corrected_from: str | None = None  # the typo we read as `name`
    implicit: bool = False  # bare `/sota object detection`

    @property
    def rest(self) -> str:
        return " ".join(t.text for t in self.tokens)


def clean(text: str) -> str:
    """NFC text without control, format or surrogate characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text.encode("utf-8", "replace").decode("utf-8"))
    out = []
    for c in text:
        cat = unicodedata.category(c)
        if cat in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif cat in ("Cf", "Cs", "Cn") and c != "\u200d":
            continue
        else:
            out.append(c)
    return " ".join("".join(out).split())


def tokenize(text: str) -> list[Token]:
    """Split on whitespace; quotes group words; an unbalanced quote runs to the end."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        buf: list[str] = []
        quoted = text[i] in _OPEN_QUOTES  # the whole token was given as one quoted phrase
        while i < n and not text[i].isspace():
            c = text[i]
            if c in _OPEN_QUOTES and (not buf or buf[-1] in ":="):
                closers = _OPEN_QUOTES[c]
                j = i + 1
                while j < n and text[j] not in closers:
                    j += 1
                buf.append(text[i + 1 : j])
                i = j + 1
                continue
            buf.append(c)
            i += 1
        word = " ".join("".join(buf).split())
        if word:
            tokens.append(Token(word, quoted))
    return tokens


def _closest(word: str, choices: dict[str, str]) -> list[str]:
    """Command names `word` is a plausible typo of (Damerau distance 1, or 2 when long)."""
    if len(word) < 3:
        return []
    allowed = 1 if len(word) <= 9 else 2
    hits: dict[str, int] = {}
    for alias, name in choices.items():
        if len(alias) < 3:
            continue
        d = DamerauLevenshtein.distance(word, alias, score_cutoff=allowed)
        if d <= allowed:
            hits[name] = min(d, hits.get(name, d))
        elif len(word) >= 4 and alias.startswith(word):
            hits[name] = min(allowed, hits.get(name, allowed))
    if not hits:
        return []
    best = min(hits.values())
    return sorted(name for name, d in hits.items() if d == best)


_COMMAND_WORDS = {**{name: name for name in SUBCOMMANDS}, **ALIASES}
_TYPO_TARGETS = {name: name for name in SUBCOMMANDS if name != "sota"}


def parse(text: str) -> ParsedCommand | ParseError:
    """The subcommand and its argument tokens; anything unrecognised is a `sota` query."""
    if len(text) > MAX_COMMAND_CHARS * 4:
        return ParseError(f"That is too long for a command (at most {MAX_COMMAND_CHARS} characters).", "help")
    text = clean(text)
    if len(text) > MAX_COMMAND_CHARS:
        return ParseError(f"That is too long for a command (at most {MAX_COMMAND_CHARS} characters).", "help")
    tokens = tokenize(text)
    if tokens and not tokens[0].quoted and tokens[0].text.lower().lstrip("/") == "sota" and len(tokens) > 1:
        nxt = tokens[1].text.lower().lstrip("/")
        if not tokens[1].quoted and nxt in _COMMAND_WORDS and _COMMAND_WORDS[nxt] != "sota":
            tokens = tokens[1:]  # "/sota /sota subscribe x" typed in a terminal
    if not tokens:
        return ParsedCommand("help")
    first = tokens[0]
    word = first.text.lower().lstrip("/")
    if not first.quoted:
        if word in _COMMAND_WORDS:
            return ParsedCommand(_COMMAND_WORDS[word], tuple(tokens[1:]))
        close = _closest(word, _TYPO_TARGETS)
        if len(close) == 1:
            return ParsedCommand(close[0], tuple(tokens[1:]), corrected_from=first.text)
        if len(close) > 1:
            options = " or ".join(f"`{c}`" for c in close)
            return ParseError(f"Did you mean {options}?", "help")
    return ParsedCommand("sota", tuple(tokens), implicit=True)


# --- sota ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SotaQuery:
    task: str
    dataset: str | None = None
    metric: str | None = None
    private: bool = False  # an answer only the asker sees, with "Share to channel" under it


_PART_WORDS = {
    "on": "dataset", "dataset": "dataset", "--dataset": "dataset", "-d": "dataset",
    "by": "metric", "metric": "metric", "--metric": "metric", "-m": "metric",
}
_PART_PREFIXES = {"dataset:": "dataset", "dataset=": "dataset", "metric:": "metric", "metric=": "metric"}


def parse_sota(tokens: tuple[Token, ...] | list[Token]) -> SotaQuery | ParseError:
    """`TASK [on DATASET] [by METRIC] [private]`; also `--dataset`/`dataset:`, `--metric`/`metric:` and
    `--private`. A trailing `private` asks for a private answer only after something else (alone it is a
    task) and unquoted (`on "Kaggle private"` is a name)."""
    parts: dict[str, list[str]] = {"task": [], "dataset": [], "metric": []}
    current = "task"
    tokens = list(tokens)
    private = False
    if len(tokens) > 1 and not tokens[-1].quoted and tokens[-1].text.lower() == "private":
        tokens, private = tokens[:-1], True
    if any(not t.quoted and t.text.lower() == "--private" for t in tokens):
        tokens, private = [t for t in tokens if t.quoted or t.text.lower() != "--private"], True
    for tok in tokens:
        low = tok.text.lower()
        if not tok.quoted:
            target = _PART_WORDS.get(low)
            # "metric learning" is a task: the words "dataset"/"metric" only count after the task
            leading = low in ("on", "by") and not parts["task"]
            if target and (parts["task"] or leading) and not parts[target] and current != target:
                current = target
                continue
            prefix = next((p for p in _PART_PREFIXES if low.startswith(p)), None)
            if prefix:
                current = _PART_PREFIXES[prefix]
                rest = tok.text[len(prefix) :]
                if rest:
                    parts[current].append(rest)
                continue
        parts[current].append(tok.text)
    task = " ".join(parts["task"]).strip()
    if not task:
        return ParseError("Which task? For example `/sota object detection`.", "sota")
    dataset = " ".join(parts["dataset"]).strip() or None
    metric = " ".join(parts["metric"]).strip() or None
    if current == "dataset" and dataset is None:
        return ParseError("Which dataset? Put its name after `on`.", "sota")
    if current == "metric" and metric is None:
        return ParseError("Which metric? Put its name after `by`.", "sota")
    return SotaQuery(task, dataset, metric, private)


# --- arXiv categories -----------------------------------------------------------------------

_SUBJECTS: dict[str, str] = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF PL "
    "RO SC SD SE SI SY",
    "stat": "AP CO ME ML OT TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "econ": "EM GN TH",
    "astro-ph": "CO EP GA HE IM SR",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn gen-ph "
    "geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
}
_STANDALONE = ["gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex", "nucl-th", "quant-ph"]
ARXIV_CATEGORIES: tuple[str, ...] = tuple(
    [f"{archive}.{subject}" for archive, subjects in _SUBJECTS.items() for subject in subjects.split()] + _STANDALONE
)
_CATEGORY_BY_LOWER = {c.lower(): c for c in ARXIV_CATEGORIES}
_POPULAR_CATEGORIES = {"cs.cv", "cs.lg", "cs.cl", "cs.ai", "cs.ro", "cs.ir", "cs.ne", "stat.ml", "eess.iv", "eess.as"}


def looks_like_category(text: str) -> bool:
    return text.lower() in _CATEGORY_BY_LOWER


def normalise_category(text: str) -> tuple[str | None, str | None]:
    """(canonical arXiv category, None) or (None, suggestion or None)."""
    key = text.strip().lower()
    if key in _CATEGORY_BY_LOWER:
        return _CATEGORY_BY_LOWER[key], None
    if not key or len(key) > 30:
        return None, None
    # ties: a transposition (same letters) first, then the categories ML labs use most
    near = [
        (DamerauLevenshtein.distance(key, c), sorted(key) != sorted(c), c not in _POPULAR_CATEGORIES, c)
        for c in _CATEGORY_BY_LOWER
    ]
    best = min(near)
    if best[0] <= 2:
        return None, _CATEGORY_BY_LOWER[best[3]]
    hit = process.extractOne(key, list(_CATEGORY_BY_LOWER), scorer=fuzz.ratio, score_cutoff=70)
    return None, (_CATEGORY_BY_LOWER[hit[0]] if hit else None)


def category_error(text: str, command: str) -> ParseError:
    _, suggestion = normalise_category(text)
    shown = text if len(text) <= 40 else text[:39] + "…"
    hint = f" Did you mean `{suggestion}`?" if suggestion else " Use an arXiv category such as `cs.CV` or `stat.ML`."
    return ParseError(f"`{shown}` is not an arXiv category.{hint}", command)


# --- subscription targets -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: Literal["task", "category", "keyword", "all"]
    value: str


_TARGET_PREFIXES = {
    "category:": "category", "cat:": "category", "arxiv:": "category",
    "keyword:": "keyword", "keywords:": "keyword", "kw:": "keyword",
    "task:": "task",
}
_TARGET_WORDS = {"category": "category", "cat": "category", "keyword": "keyword", "kw": "keyword", "task": "task"}


def normalise_keyword(text: str) -> str:
    return " ".join(text.lower().split())


def parse_target(tokens: tuple[Token, ...] | list[Token], command: str) -> Target | ParseError:
    """`TASK`, `category:cs.CV` (or just `cs.CV`), `keyword:"..."`, and `all` for unsubscribe."""
    if not tokens:
        return ParseError("Subscribe to what? A task, `category:cs.CV` or `keyword:\"...\"`.", command)
    first = tokens[0]
    low = first.text.lower()
    kind: str = "task"
    words = [t.text for t in tokens]
    prefix = None if first.quoted else next((p for p in _TARGET_PREFIXES if low.startswith(p)), None)
    if prefix:
        kind = _TARGET_PREFIXES[prefix]
        words = [first.text[len(prefix) :], *words[1:]]
    elif not first.quoted and low in _TARGET_WORDS and len(tokens) > 1:
        kind = _TARGET_WORDS[low]
        words = words[1:]
    elif not first.quoted and len(tokens) == 1 and looks_like_category(first.text):
        kind = "category"
    elif not first.quoted and len(tokens) == 1 and low == "all" and command == "unsubscribe":
        return Target("all", "all")
    value = " ".join(w for w in words if w).strip()
    if kind == "category":
        if not value:
            return ParseError("Which category? For example `category:cs.CV`.", command)
        canonical, _ = normalise_category(value)
        if canonical is None:
            return category_error(value, command)
        return Target("category", canonical)
    if kind == "keyword":
        value = normalise_keyword(value)
        if len(value) < 2:
            return ParseError('Which keyword? For example `keyword:"diffusion"`.', command)
        if len(value) > MAX_KEYWORD_CHARS:
            return ParseError(f"A keyword can be at most {MAX_KEYWORD_CHARS} characters.", command)
        return Target("keyword", value)
    if not value:
        return ParseError("Which task?", command)
    return Target("task", value)


# --- digest ---------------------------------------------------------------------------------

DigestAction = Literal["show", "on", "off", "at", "timezone", "categories", "keywords", "preview"]
_DIGEST_ACTIONS: dict[str, str] = {
    "on": "on", "enable": "on", "start": "on", "yes": "on",
    "off": "off", "disable": "off", "stop": "off", "no": "off",
    "at": "at", "time": "at",
    "timezone": "timezone", "tz": "timezone", "zone": "timezone", "time-zone": "timezone",
    "categories": "categories", "category": "categories", "cats": "categories",
    "keywords": "keywords", "keyword": "keywords",
    "preview": "preview", "show": "show", "status": "show", "settings": "show",
}
_CLEAR_WORDS = {"none", "clear", "-", "off", "reset"}


@dataclass(frozen=True)
class DigestCommand:
    action: DigestAction
    time: str | None = None
    timezone: str | None = None
    values: tuple[str, ...] = field(default_factory=tuple)
    clear: bool = False


_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_time(text: str) -> str | None:
    """'9:30', '09:30', '9am', '9:30pm', '21h00' -> 'HH:MM' (24 h); anything else -> None."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
    if m.group(2) is None and not ampm:
        return None  # a bare number is ambiguous
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


@lru_cache(maxsize=1)
def _zones() -> tuple[dict[str, str], dict[str, list[str]]]:
    zones = sorted(available_timezones() | {"UTC"})
    by_lower = {z.lower(): z for z in zones}
    by_city: dict[str, list[str]] = {}
    for z in zones:
        if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Mexico/", "Chile/")):
            by_city.setdefault(z.rsplit("/", 1)[1].lower().replace("_", " "), []).append(z)
    return by_lower, by_city


_ZONE_ALIASES = {"utc": "UTC", "gmt": "UTC", "z": "UTC", "zulu": "UTC"}


def resolve_timezone(text: str) -> tuple[str | None, str | None]:
    """(IANA zone, None), or (None, suggestion or None): 'europe/berlin' and 'Berlin' both work."""
    key = text.strip().lower()
    if not key or len(key) > 64:
        return None, None
    by_lower, by_city = _zones()
    zone = _ZONE_ALIASES.get(key) or by_lower.get(key)
    if zone is None:
        cities = by_city.get(key.replace("_", " "), [])
        zone = cities[0] if len(cities) == 1 else None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError, OSError):
            return None, None
        return zone, None
    hit = process.extractOne(key, list(by_lower), scorer=fuzz.ratio, score_cutoff=75)
    if hit is None:
        city = process.extractOne(key.replace("_", " "), list(by_city), scorer=fuzz.ratio, score_cutoff=80)
        if city and len(by_city[city[0]]) == 1:
            return None, by_city[city[0]][0]
        return None, None
    return None, by_lower[hit[0]]


def timezone_error(text: str) -> ParseError:
    _, suggestion = resolve_timezone(text)
    shown = text if len(text) <= 40 else text[:39] + "…"
    hint = f" Did you mean {suggestion}?" if suggestion else " Use an IANA name such as Europe/Berlin or UTC."
    return ParseError(f"Unknown time zone `{shown}`.{hint}", "digest")


def _split_list(tokens: list[Token]) -> list[str]:
    items: list[str] = []
    for tok in tokens:
        if tok.quoted:
            items.append(tok.text.strip(", "))
        else:
            items.extend(p for p in tok.text.split(",") if p.strip())
    return [i.strip() for i in items if i.strip()]


def parse_digest(tokens: tuple[Token, ...] | list[Token]) -> DigestCommand | ParseError:
    """`digest [on|off|at HH:MM [TZ]|timezone TZ|categories ...|keywords ...|preview]`."""
    if not tokens:
        return DigestCommand("show")
    first, rest = tokens[0], list(tokens[1:])
    word = first.text.lower()
    action = _DIGEST_ACTIONS.get(word)
    if action is None and parse_time(first.text):
        action, rest = "at", list(tokens)
    if action is None:
        close = _closest(word, _DIGEST_ACTIONS) if not first.quoted else []
        if len(close) != 1:
            return ParseError(f"I don't know `digest {first.text[:40]}`.", "digest")
        action = close[0]
    if action in ("on", "off", "preview", "show"):
        if rest:
            return ParseError(f"`digest {action}` takes nothing after it.", "digest")
        return DigestCommand(action)  # type: ignore[arg-type]
    if action == "at":
        if not rest:
            return ParseError("At what time? For example `digest at 09:00 Europe/Berlin`.", "digest")
        time = parse_time(rest[0].text)
        tz_tokens = rest[1:]
        if time is None and len(rest) > 1 and rest[1].text.lower() in ("am", "pm"):
            time = parse_time(rest[0].text + rest[1].text)
            tz_tokens = rest[2:]
        if time is None:
            shown = rest[0].text[:20]
            return ParseError(f"`{shown}` is not a time of day; use HH:MM (24-hour), e.g. 09:00.", "digest")
        if not tz_tokens:
            return DigestCommand("at", time=time)
        zone_text = "_".join(t.text for t in tz_tokens)
        zone, _ = resolve_timezone(zone_text)
        if zone is None:
            return timezone_error(" ".join(t.text for t in tz_tokens))
        return DigestCommand("at", time=time, timezone=zone)
    if action == "timezone":
        if not rest:
            return ParseError("Which time zone? For example `digest timezone Europe/Berlin`.", "digest")
        zone, _ = resolve_timezone("_".join(t.text for t in rest))
        if zone is None:
            return timezone_error(" ".join(t.text for t in rest))
        return DigestCommand("timezone", timezone=zone)
    items = _split_list(rest)
    if not items:
        example = "cs.CV cs.LG" if action == "categories" else '"diffusion" "graph neural network"'
        return ParseError(f"Which {action}? For example `digest {action} {example}`, or `none` to clear.", "digest")
    if len(items) == 1 and items[0].lower() in _CLEAR_WORDS:
        return DigestCommand(action, clear=True)  # type: ignore[arg-type]
    if len(items) > MAX_LIST_ITEMS:
        return ParseError(f"At most {MAX_LIST_ITEMS} {action} at once.", "digest")
    if action == "categories":
        values: list[str] = []
        for item in items:
            canonical, _ = normalise_category(item)
            if canonical is None:
                return category_error(item, "digest")
            if canonical not in values:
                values.append(canonical)
        return DigestCommand("categories", values=tuple(values))
    keywords: list[str] = []
    for item in items:
        kw = normalise_keyword(item)
        if len(kw) < 2 or len(kw) > MAX_KEYWORD_CHARS:
            return ParseError(f"A keyword must be 2 to {MAX_KEYWORD_CHARS} characters.", "digest")
        if kw not in keywords:
            keywords.append(kw)
    return DigestCommand("keywords", values=tuple(keywords))


# --- paper ----------------------------------------------------------------------------------

_NEW_ID = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(v\d+)?(?![\d])")
_OLD_ID = re.compile(r"(?<![\w.-])([a-z]+(?:-[a-z]+)?)(?:\.[a-z]{2})?/(\d{7})(v\d+)?(?!\d)", re.IGNORECASE)


def parse_arxiv_id(text: str) -> str | None:
    """'2411.17700', 'arXiv:2411.17700v2', 'https://arxiv.org/pdf/2411.17700v1.pdf', 'cs/9301114' -> id, no version."""
    text = text.strip()
    m = _NEW_ID.search(text)
    if m:
        return m.group(1)
    m = _OLD_ID.search(text)
    if m:  # old-style ids name the archive only: math.GT/0309136 is math/0309136
        return f"{m.group(1).lower()}/{m.group(2)}"
    return None
