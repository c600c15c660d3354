"""From clean text to sections and chunks: heading detection, topic segmentation, sentence-aware chunking."""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.text import slugify

import textkit

CHUNK_MIN = 200
CHUNK_MAX = 400
OVERLAP_MAX = 120
SECTION_MIN_CHARS = 40
_SAYS_SOMETHING = re.compile(r"[.!?。！？]\s*$|[\u3400-\u9fff].*[，。：；]")
# A section of a long text (Document.pieces) is cut into parts of about this many characters, at a blank line:
# a book's text with no headings, or under one heading, is held and written a part at a time.
SECTION_MAX_CHARS = 100_000

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s*(=+|-{3,})\s*$")
# "1 编解码与表示学习", "1.1. 神经元与网络", "1.2.3誤差函數", "第1章:深度學習革命", "Chapter 2 Attention".
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?\s*(?P<title>[^\d\s.)）、:：,，(（#=\-][^\n]{0,39})$")
_CHAPTER = re.compile(
    r"^(?:第[一二三四五六七八九十\d]{1,3}[章节部分篇]|(?:chapter|part|section)\s+\d{1,2})[\s:：.、]*(?P<title>.{0,40})$",
    re.IGNORECASE,
)
_SENTENCE_PUNCT = re.compile(r"[。！？；!?;,，、:：]\s*$|[。！？!?]")
_BULLET = re.compile(r"^\s*(?:[-*+•·●▪]|\d{1,2}[.)）、]|[（(]?\d{1,2}[)）]|[a-z][.)])\s*\S", re.IGNORECASE)
_FORMULA = re.compile(r"[=∑∫≈≤≥±×÷^√]|\\[a-z]+|\b[a-z]\([a-z, ]+\)", re.IGNORECASE)
# What str.splitlines() also breaks at, besides "\n" and "\r".
_OTHER_LINE_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
# A description that says it is one: "Diagram: …", "Bar chart: …", "示意图：…", "柱状图：…".
FIGURE = re.compile(r"^(?:(?:\w+ ){0,2}(?:diagram|figure|image|chart|graph|plot)|[^\s，。：:]{0,4}图)\s*[:：]", re.I)
_MD_IMAGE_LINE = re.compile(r"^([ \t]*)!\[([^\]]*)\]\([^)]*\)([ \t\r]*)$", re.MULTILINE)


@dataclass
class Section:
    heading: str
    body: str
    level: int = 1
    part: bool = False  # one of the parts a section longer than iter_sections' max_chars was cut into

    @property
    def anchor(self) -> str:
        return slugify(self.heading, allow_unicode=True)[:100] or "section"


@dataclass
class Document:
    """What a reader produces and the cleaner returns: a title, metadata, and the text (Markdown or plain)."""

    name: str
    text: str
    title: str = ""
    author: str = ""
    url: str = ""
    language: str = ""
    markdown: bool = False
    meta: dict = field(default_factory=dict)
    # A text too long to hold at once (a book-length file) has `text` "" and this instead: each call reads the text
    # again from its file, a run of whole lines at a time, so only a piece of it is ever in memory.
    pieces: Callable[[], Iterator[str]] | None = None

    def text_pieces(self) -> Iterable[str]:
        """The text as runs of whole lines: the pieces of a long text, or the whole of a short one."""
        return self.pieces() if self.pieces is not None else [self.text]

    def head(self, size: int) -> str:
        """The text's first `size` characters, reading only as much of a long text as that takes."""
        if self.pieces is None:
            return self.text[:size]
        head: list[str] = []
        for piece in self.pieces():
            head.append(piece)
            if sum(map(len, head)) >= size:
                break
        return "".join(head)[:size]


def heading_of(line: str) -> tuple[int, str] | None:
    """(level, heading text) when a plain-text line reads as a heading, else None."""
    stripped = line.strip()
    if not stripped or len(stripped) > 48 or line[0].isspace():
        return None
    if m := _MD_HEADING.match(stripped):
        return len(m.group(1)), m.group(2).strip()
    if m := _CHAPTER.match(stripped):
        return 1, stripped
    if m := _NUMBERED.match(stripped):
        title = m.group("title").strip()
        # "1. item" is a list item; headings read "1 Title", "1.1. Title" or "1.2.3Title".
        if "." not in m.group("num") and stripped[len(m.group("num")) :].startswith("."):
            return None
        # A heading names a topic; it does not end a sentence, and it is not a line of code or a formula.
        if _SENTENCE_PUNCT.search(title) or _FORMULA.search(title) or len(title) < 2:
            return None
        return m.group("num").count(".") + 1, stripped
    return None


def iter_lines(text: str):
    """The lines of `text` as `str.splitlines()` gives them, one at a time: a long document is not copied whole."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end == -1 else end
        piece = text[start:end]
        yield from piece.splitlines() or [""]
        # "\f\n" is two line breaks (an empty line between); "\r\n" is one.
        if end < size and piece.endswith(_OTHER_LINE_BREAKS):
            yield ""
        start = end + 1


def iter_sections(text: str | Iterable[str], *, markdown: bool = False, max_chars: int | None = None):
    """Sections at the headings, yielded as they are found; the text before the first heading is an introduction.

    `text` is a text, or its pieces, each a run of whole lines (Document.text_pieces()). With `max_chars`, a
    section is cut at the first blank line past that many characters, into parts under the same heading.

    Setext headings ("Title" over "====") and '#' headings count in any text; numbered plain-text
    headings count outside Markdown (in Markdown a "1. item" is a list item). A heading with (almost)
    no text under it is a table of contents entry or a lost image caption, and is skipped.
    """
    heading, level, body = "", 1, []
    in_code, size, part = False, 0, False
    lines = iter_lines(text) if isinstance(text, str) else (line for piece in text for line in iter_lines(piece))
    line = next(lines, None)
    while line is not None:
        nxt = next(lines, None)
        if line.strip().startswith(("```", "~~~")):
            in_code = not in_code
        found = None
        if not in_code:
            if _SETEXT.match(nxt or "") and line.strip() and not _SETEXT.match(line) and len(line.strip()) <= 48:
                found = (1, re.sub(r"^\s*[-*•]\s*", "", line.strip()))
            elif _SETEXT.match(line) and body == [] and heading:
                line = nxt
                continue
            elif markdown:
                m = _MD_HEADING.match(line.strip())
                found = (len(m.group(1)), m.group(2).strip()) if m else None
            else:
                found = heading_of(line)
        if found:
            section = Section(heading, "\n".join(body).strip(), level, part)
            if _kept(section):
                yield section
            level, heading = found
            body, size, part = [], 0, False
        elif max_chars and size >= max_chars and not in_code and not line.strip():
            yield Section(heading, "\n".join(body).strip(), level, part=True)
            body, size, part = [], 0, True
        elif not (_SETEXT.match(line) and not body):
            body.append(line)
            size += len(line) + 1
        line = nxt
    section = Section(heading, "\n".join(body).strip(), level, part)
    if _kept(section):
        yield section


def _kept(section: Section) -> bool:
    """A section with text enough to stand alone, or a short one that still says something (a sentence, a
    Chinese clause): only a heading with no words under it (a table of contents entry, a caption) is skipped."""
    body = section.body
    return len(re.sub(r"\s", "", body)) >= SECTION_MIN_CHARS or bool(section.heading and _SAYS_SOMETHING.search(body))


def split_sections(text: str, *, markdown: bool = False) -> list[Section]:
    """All of a text's sections at once (see iter_sections)."""
    return list(iter_sections(text, markdown=markdown))


def images_as_alt_text(text: str) -> str:
    """A Markdown image as the words it stands for: search and the tutor read "![alt](src)" as its alt text. An
    image on a line of its own is a sentence of its own: its alt text ends in a full stop, so that it does not run
    into the paragraph after it when a chunk joins them ("…reads the rest Done naively, …")."""

    def sentence(match: re.Match) -> str:
        indent, alt, trail = match.group(1), match.group(2).strip(), match.group(3)
        chinese = textkit.is_chinese(alt)
        if alt and not re.search(r"[.!?。！？…]$", alt):
            alt += "。" if chinese else "."
        # Said to be a figure, so that the tutor reads it as a description and never opens an answer with it.
        if alt and not FIGURE.match(alt):
            alt = ("图：" if chinese else "Figure: ") + alt
        return indent + alt + trail

    return _MD_IMAGE.sub(lambda m: m.group(1).strip(), _MD_IMAGE_LINE.sub(sentence, text))


def paragraphs(text: str) -> list[str]:
    """Blocks of text: blank-line separated, and in scraped text (one paragraph per line) each line."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) <= 2 and text.count("\n") > 5:
        blocks = [line.strip() for line in text.splitlines() if line.strip()]
    return blocks


def units(body: str) -> list[str]:
    """The pieces a chunk is built from: sentences, whole list items, whole formula and table lines."""
    out: list[str] = []
    for line in body.splitlines():
        line = line.rstrip()
        if not line.strip():
            continue
        if _whole_line(line) or line.startswith("    "):
            out.append(line)
            continue
        out.extend(textkit.sentences(line))
    pieces: list[str] = []
    for unit in out:
        while len(unit) > CHUNK_MAX:
            # A sentence longer than a chunk: cut at a clause mark, or at a space, or hard.
            window = unit[:CHUNK_MAX]
            cut = max(window.rfind(mark) for mark in "，,、：:") + 1 or window.rfind(" ") + 1 or CHUNK_MAX
            cut = cut if cut > CHUNK_MIN // 2 else CHUNK_MAX
            pieces.append(unit[:cut])
            unit = unit[cut:].lstrip()
        if unit:
            pieces.append(unit)
    return pieces


def _whole_line(part: str) -> bool:
    """A list item, table row or formula line: a unit that stands on a line of its own (units)."""
    return bool(_BULLET.match(part) or "|" in part or _FORMULA.search(part) and len(part) <= 120)


def _join(parts: list[str]) -> str:
    text = ""
    previous = ""
    for part in parts:
        if not text:
            text = part
        elif _whole_line(part) or _whole_line(previous):
            # The sentence after a table row starts a line of its own, or a reader takes it for the row's last cell.
            text += "\n" + part
        elif re.search(r"[\u3400-\u9fff。！？；]$", text) or re.match(r"[\u3400-\u9fff]", part):
            text += part
        else:
            text += " " + part
        previous = part
    return text


def chunk(body: str) -> list[str]:
    """~200–400 characters per chunk, ending on sentence ends, the last sentence repeated as overlap."""
    pieces = units(body)
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        if current and size + len(piece) > CHUNK_MAX and size >= CHUNK_MIN // 2:
            chunks.append(current)
            tail = current[-1]
            current, size = ([tail], len(tail)) if len(tail) <= OVERLAP_MAX and len(current) > 1 else ([], 0)
        current.append(piece)
        size += len(piece)
    if current:
        # A short remainder joins the previous chunk rather than standing alone with too little context.
        if chunks and size < CHUNK_MIN // 2 and sum(map(len, chunks[-1])) + size <= CHUNK_MAX + CHUNK_MIN // 2:
            chunks[-1].extend(p for p in current if p not in chunks[-1])
        elif not (chunks and all(p in chunks[-1] for p in current)):
            chunks.append(current)
    return [_join(parts) for parts in chunks]


def segment_by_topic(text: str, *, embedder, target: int = 1500) -> list[Section]:
    """Sections for text without headings: cut where neighbouring paragraphs' topics differ most.

    Recursive: a span longer than `target` is cut at the paragraph gap whose two sides (three
    paragraphs each) are least similar, keeping at least a third of `target` on each side.
    """
    paras = paragraphs(text)
    if sum(map(len, paras)) <= target * 1.3 or len(paras) < 4:
        return [Section(heading=_heading_for(paras), body="\n\n".join(paras))] if paras else []
    vectors = embedder.passages([p[:300] for p in paras])
    lengths = [len(p) for p in paras]
    spans = [(0, len(paras))]
    done: list[tuple[int, int]] = []
    while spans:
        start, end = spans.pop()
        if sum(lengths[start:end]) <= target * 1.3:
            done.append((start, end))
            continue
        best, best_score = None, 2.0
        for gap in range(start + 1, end):
            if sum(lengths[start:gap]) < target / 3 or sum(lengths[gap:end]) < target / 3:
                continue
            left = vectors[max(start, gap - 3) : gap].mean(axis=0)
            right = vectors[gap : min(end, gap + 3)].mean(axis=0)
            score = float(left @ right / ((left @ left) ** 0.5 * (right @ right) ** 0.5 or 1))
            if score < best_score:
                best, best_score = gap, score
        if best is None:
            done.append((start, end))
        else:
            spans.extend([(best, end), (start, best)])
    return [Section(heading=_heading_for(paras[a:b]), body="\n\n".join(_body_for(paras[a:b]))) for a, b in sorted(done)]


def _heading_for(paras: list[str]) -> str:
    first = paras[0].strip() if paras else ""
    if 0 < len(first) <= 30 and not _SENTENCE_PUNCT.search(first.rstrip("?？")):
        return first
    clause = re.split(r"[。！？；,，:：!?;.]", first, maxsplit=1)[0].strip()
    return clause[:24] + ("…" if len(clause) > 24 else "")


def _body_for(paras: list[str]) -> list[str]:
    first = paras[0].strip()
    if len(paras) > 1 and 0 < len(first) <= 30 and not _SENTENCE_PUNCT.search(first.rstrip("?？")):
        return paras[1:]
    return paras
