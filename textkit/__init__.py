"""Text processing every app shares, one rule each, for English and Chinese.

normalize()        NFKC, Traditional → Simplified, lower case: indexing and querying see the same text;
fold()             normalize() without spaces and punctuation: the key two answers are compared by;
sentences()        sentence splitting for chunks, cloze questions and offline answers;
is_chinese()       language of a question, a sentence or a document;
tokens()           jieba's search-mode words, taught the LLM vocabulary, for search and key terms;
keyphrases()       a text's key terms by jieba's TF-IDF, for questions built without a language model.
"""

import functools
import logging
import re
import unicodedata

from .words import LLM_TERMS, STOP_WORDS

__all__ = [
    "CJK",
    "STOP_WORDS",
    "add_terms",
    "cjk_ratio",
    "detect_language",
    "fold",
    "is_chinese",
    "keyphrases",
    "normalize",
    "query_tokens",
    "search_tokens",
    "segments",
    "sentences",
    "to_simplified",
    "tokens",
]

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)
# After Chinese end marks and ! ? always; after "." only before a new sentence's start (not in "3.5" or
# "e.g. the"); after ";" only in Chinese text, since an English ";" joins two halves that read as fragments apart.
_OPENERS, _CLOSERS = re.compile(r"[(（]"), re.compile(r"[)）]")
_BRACKET_MAX = 400
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[\u3400-\u9fff];)|(?<=[.])(?=\s+[A-Z0-9\"“'(*`\[])")
# Above this share of Chinese characters among the letters, text is Chinese. Mixed questions such as
# "LoRA 是什么" count as Chinese; an English sentence quoting one term ("weight decay (权重衰减)") does not.
_CHINESE_SHARE = 0.3


@functools.cache
def _converter():
    import opencc  # loaded on first use: building its dictionaries takes a while and most text has no Chinese

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text) if CJK.search(text) else text


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), Traditional to Simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text or "")).lower()


def fold(text: str) -> str:
    """normalize() with spacing, punctuation and symbols dropped: '  B·A ' and 'ba' compare equal, as do '65,536'
    and '65536'."""
    return "".join(ch for ch in normalize(text) if unicodedata.category(ch)[0] not in "PSZ")


def sentences(text: str) -> list[str]:
    """The sentences of a text, English or Chinese, line by line (a line never continues into the next). A full
    stop or question mark inside brackets ends no sentence: "检索（正确的文本找回来了吗？）和生成" is one."""
    found = []
    for line in (text or "").splitlines():
        pending = ""
        for piece in _SENTENCE_END.split(line):
            pending += piece
            # An unclosed bracket holds the sentence open, within reason: a stray "(" must not swallow a paragraph.
            if len(_OPENERS.findall(pending)) > len(_CLOSERS.findall(pending)) and len(pending) < _BRACKET_MAX:
                continue
            if pending.strip():
                found.append(pending.strip())
            pending = ""
        if pending.strip():
            found.append(pending.strip())
    return found


def cjk_ratio(text: str) -> float:
    """The share of Chinese characters among the letters (digits and punctuation belong to no language)."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if CJK.match(c)) / len(letters) if letters else 0.0


def is_chinese(text: str) -> bool:
    return cjk_ratio(text) > _CHINESE_SHARE


def detect_language(text: str) -> str:
    """'en', 'zh-hans' or 'zh-hant' (Traditional when folding to Simplified changes many characters)."""
    sample = text[:20000]
    if not is_chinese(sample):
        return "en"
    changed = sum(1 for a, b in zip(sample, to_simplified(sample), strict=False) if a != b)
    cjk = len(CJK.findall(sample))
    return "zh-hant" if cjk and changed / cjk > 0.05 else "zh-hans"


@functools.cache
def _jieba():
    import jieba  # loaded on first use: it reads its dictionary (a second or two) on import

    jieba.setLogLevel(logging.WARNING)
    for term in LLM_TERMS:
        jieba.add_word(term.lower(), freq=200000)
    jieba.initialize()
    return jieba


def add_terms(terms) -> None:
    """Teach jieba more words (the course's glossary terms and aliases)."""
    jieba = _jieba()
    for term in terms:
        term = normalize(term).strip()
        if term and CJK.search(term):
            jieba.add_word(term, freq=200000)


def tokens(text: str) -> list[str]:
    """Search tokens: jieba's search-mode segmentation of the normalised text, punctuation dropped."""
    words = _jieba().lcut_for_search(normalize(text))
    return [w for w in (w.strip() for w in words) if w and _WORD.search(w)]


def segments(text: str) -> list[str]:
    """jieba's accurate-mode words of the text in Simplified Chinese, case and spacing kept: where a word may be
    cut out (a blank must not split "过拟合" into "过" and "拟合")."""
    return _jieba().lcut(to_simplified(text))


def search_tokens(text: str) -> str:
    return " ".join(tokens(text))


def query_tokens(text: str) -> list[str]:
    """Tokens worth matching in a question: no question words or particles, no duplicates."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if token not in STOP_WORDS and not (len(token) == 1 and not CJK.match(token) and not token.isdigit()):
            seen.setdefault(token)
    return list(seen)


# Nouns, proper names, English words and idioms: the parts of speech a key term of a lesson is made of.
_TERM_POS = ("n", "nz", "nr", "nt", "ns", "vn", "eng", "l")


def keyphrases(text: str, *, limit: int = 40) -> list[tuple[str, float]]:
    """The text's key terms with their TF-IDF weight, heaviest first, in Simplified Chinese (jieba's dictionary
    is Simplified) and in the text's own letter case."""
    import jieba.analyse  # noqa: PLC0415 - loads its IDF table on first use, like jieba itself

    _jieba()
    found = jieba.analyse.extract_tags(to_simplified(text), topK=limit * 2, withWeight=True, allowPOS=_TERM_POS)
    terms = [
        (term.strip(), weight)
        for term, weight in found
        if term.strip().casefold() not in STOP_WORDS and not term.strip().isdigit()
    ]
    return terms[:limit]
