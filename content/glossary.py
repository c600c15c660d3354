"""The course glossary as a bilingual dictionary for search.

A question that names a concept in one language also looks for the concept's names in the other, so
"What is weight decay?" finds a Chinese passage about 权重衰减 by its words, not by the embeddings alone.
"""

import functools
import re
from dataclasses import dataclass

import frontmatter
from django.db.models import Count, Max

import textkit

from .models import Concept
from .services import SHIPPED_COURSES, shipped_concept_pairs

# A word this long one typo away from a concept's one-word name is taken for it; shorter words are too often
# other words one letter apart.
TYPO_MIN = 8
MAX_CONCEPTS = 4  # a question names a few concepts; more would pull the search off its subject


@dataclass(frozen=True)
class Entry:
    english: tuple[str, ...]
    chinese: tuple[str, ...]
    patterns: tuple[re.Pattern, ...]  # the English names as whole words
    translates: bool = True  # its first Chinese name is a pure Chinese term, the one expand adds


def _variants(name: str, *, term: bool = False) -> set[str]:
    # "over-fitting", "over fitting" and "overfitting" are one word to a reader.
    variants = {name, name.replace("-", " "), name.replace("-", "")} if "-" in name else {name}
    if not term:
        return variants
    # A question asks with the verb what the glossary names with the noun: "Why do models hallucinate?" names
    # hallucination, "How do I quantise a model?" quantisation. Only the concept's own term: the verb of an alias
    # says less ("activate" a licence is not the activation function).
    for variant in list(variants):
        if " " not in variant and variant.endswith("ation") and len(variant) >= 8:
            variants.add(
                re.sub(r"(is|iz)ation$", r"\1e", variant)
                if re.search(r"(is|iz)ation$", variant)
                else variant[:-3] + "e"
            )
    return variants


@functools.cache
def _shipped_concepts() -> tuple[tuple[str, ...], ...]:
    """The shipped courses' concepts straight from their files, so that search knows the glossary even in a
    database where only other sources were ingested."""
    concepts = []
    for folder in sorted(p for p in SHIPPED_COURSES.iterdir() if p.is_dir()):
        posts = {
            path.name: frontmatter.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.md"))
            if path.name.upper() != "FORMAT.MD"
        }
        for _en_name, en, _zh_name, zh in shipped_concept_pairs(posts):
            concepts.append(
                (en.get("term", ""), zh.get("term", ""), *(en.get("aliases") or []), *(zh.get("aliases") or []))
            )
    return tuple(concepts)


@functools.lru_cache(maxsize=4)
def _entries(version: tuple) -> tuple[Entry, ...]:
    entries = []
    concepts = [
        (term, term_zh, *aliases)
        for term, term_zh, aliases in Concept.objects.values_list("term", "term_zh", "aliases")
    ]
    for names in dict.fromkeys(concepts + list(_shipped_concepts())):
        names = list(dict.fromkeys(textkit.normalize(str(n)).strip() for n in names if n and str(n).strip()))
        chinese = tuple(n for n in names if textkit.cjk_ratio(n) > 0.5)
        # A name that mixes the scripts ("KV 缓存") also finds the concept in a Chinese question, with or without
        # the space a writer may put between them; it is never the name search adds (expand), which stays the
        # concept's Chinese term.
        mixed = tuple(
            dict.fromkeys(v for n in names if 0 < textkit.cjk_ratio(n) <= 0.5 for v in (n, re.sub(r"\s+", "", n)))
        )
        english = tuple(
            dict.fromkeys(
                v
                for n in names
                if textkit.cjk_ratio(n) == 0 and len(n) > 2
                # The term in the other spelling ("quantization" for "quantisation") is the term too.
                for v in sorted(
                    _variants(n, term=n.replace("s", "z") == names[0].replace("s", "z")), key=lambda v: v != n
                )
            )
        )
        # A concept need not have a name in both scripts: "AlexNet", "GGUF" and "top-k 采样" are named the same
        # way in either language, and a question naming them names the concept all the same.
        if english or chinese or mixed:
            patterns = tuple(re.compile(rf"(?<![\w-]){re.escape(name)}(?:s|es)?(?![\w-])") for name in english)
            entries.append(Entry(english=english, chinese=chinese + mixed, patterns=patterns, translates=bool(chinese)))
    # Longer names first, so "weight decay" is matched before "weight".
    return tuple(sorted(entries, key=lambda e: -max(len(n) for n in e.english + e.chinese)))


def expand(query: str) -> list[str]:
    """The other language's names of the concepts a query names (empty when it names none)."""
    version = tuple(Concept.objects.aggregate(n=Count("id"), last=Max("id")).values())
    return list(_expand(textkit.normalize(query), version))


def names(query: str, *, bilingual: bool = False) -> list[str]:
    """The glossary concepts a query names, as it names them (either language). `bilingual`: only the concepts
    with a name in each script; a name used the same way in both ("Transformer", "PyTorch") is also a film's or a
    product's, and says less that the question is about the course."""
    version = tuple(Concept.objects.aggregate(n=Count("id"), last=Max("id")).values())
    return list(_names(textkit.normalize(query), version, bilingual))


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = sorted((a, b), key=len)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1 :]


@functools.lru_cache(maxsize=1024)
def _spelled(text: str, version: tuple) -> str:
    """The text with a long word one typo away from a one-word concept name spelt as the name ("overfiting")."""
    known = {n for entry in _entries(version) for n in entry.english if " " not in n and len(n) >= TYPO_MIN}

    def fix(match: re.Match) -> str:
        word = match.group(0)
        if word in known:
            return word
        return next((name for name in sorted(known) if _one_edit(word, name)), word)

    return re.sub(rf"(?<![\w-])[a-z][a-z-]{{{TYPO_MIN - 1},}}(?![\w-])", fix, text)


@functools.lru_cache(maxsize=1024)
def _names(text: str, version: tuple, bilingual: bool) -> tuple[str, ...]:
    text = _spelled(text, version)
    found = []
    for entry in _entries(version):
        name = next((m.group(0) for p in entry.patterns if (m := p.search(text))), None) or next(
            (name for name in entry.chinese if name in text), None
        )
        if name:
            text = text.replace(name, " ")
            if entry.translates or not bilingual:
                found.append(name)
    return tuple(found)


# One question is expanded by the tutor's query embedding, by search and by the tutor's relevance check.
@functools.lru_cache(maxsize=1024)
def _expand(text: str, version: tuple) -> tuple[str, ...]:
    text = _spelled(text, version)
    extra: list[str] = []
    matched = 0
    for entry in _entries(version):
        # The other language's first name is the concept's own term, the one a passage most likely uses.
        english = next((m.group(0) for p in entry.patterns if (m := p.search(text))), None)
        chinese = None if english else next((name for name in entry.chinese if name in text), None)
        if not (english or chinese):
            continue
        others = (entry.chinese[:1] if entry.translates else ()) if english else entry.english[:1]
        extra.extend(other for other in others if other not in text)
        # A name counts once: "weight" inside "weight decay" is not a second concept.
        text = text.replace(english or chinese, " ")
        matched += 1
        if matched == MAX_CONCEPTS:
            break
    return tuple(dict.fromkeys(extra))
