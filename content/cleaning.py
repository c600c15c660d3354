"""The cleaner: keep an article's own text, drop what scraping brought along with it.

It works on general signals, never on particular files' strings:
- boilerplate phrases (copyright and reprint notices, tips and QR codes, comment and view counters,
  study-pack and download ads) in Chinese and English;
- lines that are only metadata (a date, a view count, a URL) or repeat the page title;
- link lists: long runs of short title-like items (a series index, a "related articles" block),
  and Markdown lines that are mostly link text;
- a "related articles" marker late in the page: everything after it belongs to the site;
- topic drift: late blocks whose embedding is far from the centroid of the article's body;
- a tail that is mostly noise is cut as a whole, with the heading that introduced it.
"""

import re
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from textkit import normalize

from .structure import Document, heading_of

_BOILERPLATE = re.compile(
    "|".join(
        [
            r"版权(所有|声明|归)",
            r"转载",
            r"注明出处",
            r"本文(来自|由|观点|仅代表)",
            r"仅代表作者",
            r"侵权",
            r"联系删除",
            r"打赏",
            r"赞助",
            r"红包",
            r"扫一扫",
            r"扫码",
            r"扫描.{0,12}二维码",
            r"二维码",
            r"公众号",
            r"关注(我们|作者|我)",
            r"点赞",
            r"收藏",
            r"条评论",
            r"评论区",
            r"浏览\s*[(（]?\d",
            r"阅读\s*[(（]?\d",
            r"免费领取",
            r"领取",
            r"资料包",
            r"学习资料",
            r"100%\s*免费",
            r"全套",
            r"合集",
            r"学习路线",
            r"网盘",
            r"限时",
            r"优惠",
            r"加(我)?微信",
            r"上一篇",
            r"下一篇",
            r"文章就介绍到这",
            r"copyright",
            r"all rights reserved",
            r"\bshare (this|on)\b",
            r"\bsubscribe\b",
            r"\bsign up\b",
            r"cookie",
            r"\bnewsletter\b",
            r"\bcomments?\s*\(\d",
            r"\bprevious post\b",
            r"\bnext post\b",
            r"\badvertisement\b",
        ]
    ),
    re.IGNORECASE,
)
_RELATED_MARKER = re.compile(
    r"^\s*(相关(文章|推荐|阅读|内容)|推荐(阅读|文章)|猜你喜欢|延伸阅读|热门(文章|推荐)|更多(文章|推荐)|"
    r"related (articles|posts|reading)|you may also like|recommended (articles|posts|reading)|more from)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_METADATA = re.compile(
    r"^\s*(\d{4}[-/年.]\d{1,2}[-/月.]\d{1,2}日?|浏览\s*[(（]?\d+[)）]?|\d+\s*(条评论|comments?|views?|阅读|浏览)|"
    r"https?://\S+|[\]】\[【|]+|\d+)\s*$",
    re.IGNORECASE,
)
_AUTHOR = re.compile(r"^\s*(作者|author|by|written by)\s*[:：]\s*(?P<author>.{2,60})$", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")
_RULE = re.compile(r"^\s*[-=*_]{3,}\s*$")  # a setext underline or a thematic break, not a list item
_MD_HEADING = re.compile(r"^#{1,6}\s")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•·●▪✅]|\d{1,2}[.)、])\s*")
_SENTENCE_MARKS = re.compile(r"[。！？；,，:：!?;]")

LINK_RUN = 6  # this many short title-like items in a row read as a link list, not as a list in the text
TAIL_START = 0.55  # the site's additions come after the article: only blocks past this fraction may be cut as a tail
DRIFT_MARGIN = 0.06
DRIFT_MIN_BODY = 8  # body paragraphs before the tail needed to tell drift from the article's own spread
# Longer than a web page: a book or an export. It is cleaned a window at a time, and not judged for topic drift:
# its later chapters may rightly be on other topics, and judging its second half would embed half of it at once.
PAGE_MAX_CHARS = 300_000
WINDOW_CHARS = 200_000
REPEATED_MAX = 80  # a line up to this long that comes back three times is the site's (a menu, a footer)
DROPPED_KEPT = 1_000  # the noise lines of a text read in pieces kept for reading; the rest are only counted
HEAD_SAMPLE = 24  # a late block this much less similar to the article than its least typical body block drifted


@dataclass
class Block:
    text: str
    start: int
    noise: str = ""  # the reason this block is noise, or "" when it is kept
    code: bool = False  # a line of a fenced code block: the writer's own, kept as written

    @property
    def length(self) -> int:
        return len(re.sub(r"\s", "", self.text))


@dataclass
class Cleaned:
    document: Document
    # (reason, text); of a text read in pieces only the first DROPPED_KEPT, the rest counted in more_dropped.
    dropped: list[tuple[str, str]] = field(default_factory=list)
    more_dropped: int = 0

    @property
    def dropped_count(self) -> int:
        return len(self.dropped) + self.more_dropped


def _blocks(text: str, *, markdown: bool = False, offset: int = 0, in_code: bool = False) -> tuple[list[Block], bool]:
    """The non-blank lines, and whether the text ends inside a code fence (a window of a long text goes on)."""
    blocks = []
    for line in text.split("\n"):
        fence = markdown and line.lstrip().startswith(("```", "~~~"))
        if line.strip():
            blocks.append(Block(text=line, start=offset, code=in_code or fence))
        in_code = in_code != fence
        offset += len(line) + 1
    return blocks, in_code


def _title_like(text: str) -> bool:
    body = _LIST_ITEM.sub("", text.strip())
    return 0 < len(body) <= 40 and not re.search(r"[。！？；!?;]", body)


def _mark_link_runs(blocks: list[Block], *, markdown: bool = False) -> None:
    """Runs of short list items are link lists (a series index, "more posts"); the line naming the run goes too.
    In Markdown, where links survive, a run is a link list only when most of its items are links: a checklist
    of short steps is the writer's own text."""
    run: list[int] = []
    for i, block in enumerate(blocks + [Block(text="。" * 50, start=-1)]):
        if (
            _LIST_ITEM.match(block.text)
            and not _RULE.match(block.text)
            and _title_like(block.text)
            and not block.noise
            and not block.code
        ):
            run.append(i)
            continue
        linked = sum(1 for j in run if _MD_LINK.search(blocks[j].text) or _URL.search(blocks[j].text))
        if len(run) >= LINK_RUN and (not markdown or linked * 2 >= len(run)):
            for j in run:
                blocks[j].noise = "link list"
            before = run[0] - 1
            if before >= 0 and _title_like(blocks[before].text) and not _LIST_ITEM.match(blocks[before].text):
                blocks[before].noise = blocks[before].noise or "link list heading"
        run = []


def _drift(blocks: list[Block], embedder) -> None:
    """Flag late blocks whose topic is far from the article's: the body's centroid, compared by cosine."""
    # Headings and code are structure: judged by the text under them, not by their own few words.
    blocks = [b for b in blocks if not b.code and not _MD_HEADING.match(b.text.strip())]
    body = [b for b in blocks if not b.noise and b.length >= 30]
    cut = int(len(body) * TAIL_START)
    # The body's spread sets the bar below; measured on a handful of paragraphs it flags a short page's own text.
    if cut < DRIFT_MIN_BODY:
        return
    # An evenly spaced sample of the body is enough for its centroid, and costs a fraction of the model time.
    head = body[:cut][:: max(1, cut // HEAD_SAMPLE)]
    tail = (
        [b for b in blocks[blocks.index(body[cut]) :] if not b.noise and len(re.findall(r"\w", b.text)) >= 15]
        if cut < len(body)
        else []
    )
    if not tail:
        return
    vectors = embedder.passages([normalize(b.text)[:160] for b in head + tail])
    centroid = vectors[: len(head)].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    similarity = vectors @ centroid
    # The body's own spread sets the bar, so a terse article and a wordy one are judged alike.
    body_similarity = similarity[: len(head)]
    floor = min(
        float(body_similarity.min()) - DRIFT_MARGIN / 3, float(np.percentile(body_similarity, 10)) - DRIFT_MARGIN
    )
    for block, score in zip(tail, similarity[len(head) :], strict=False):
        if score < floor:
            block.noise = f"topic drift ({score:.2f} < {floor:.2f})"


def _plain(text: str) -> str:
    """A line as the signals read it: link targets dropped, normalised."""
    return normalize(_MD_LINK.sub(r"\1", text)).strip()


def _mark(
    blocks: list[Block],
    plains: list[str],
    *,
    seen: "Counter | _RepeatedLines",
    title: str,
    document: Document,
    total: int,
    first: int = 0,
) -> None:
    """The per-line signals; `first` is the index of blocks[0] in the whole text, `total` the text's length."""
    for i, (block, plain) in enumerate(zip(blocks, plains, strict=True), start=first):
        if block.code:
            continue
        if m := _AUTHOR.match(block.text):
            document.author = document.author or m.group("author").strip()
            block.noise = "author line"
        elif _RELATED_MARKER.match(plain) and block.start > total * 0.3:
            block.noise = "related-articles marker"
        elif _METADATA.match(plain):
            block.noise = "metadata"
        elif _BOILERPLATE.search(plain) and len(plain) <= 300:
            block.noise = "boilerplate phrase"
        elif title and plain == title and i > 0:
            block.noise = "repeated title"
        elif seen[plain] >= 3 and len(plain) <= REPEATED_MAX:
            block.noise = "repeated line"
        elif (links := _MD_LINK.findall(block.text)) and sum(map(len, links)) > 0.6 * len(plain):
            block.noise = "link list"
        elif len(_URL.sub("", plain).strip()) < 0.4 * len(plain):
            block.noise = "mostly a URL"


def _title_from(document: Document, blocks: list[Block]) -> None:
    if not document.title and blocks and _title_like(blocks[0].text) and heading_of(blocks[0].text) is None:
        document.title = blocks[0].text.strip()


def clean(document: Document, *, embedder=None) -> Cleaned:
    if document.pieces is not None or len(document.text) > PAGE_MAX_CHARS:
        return _clean_in_windows(document)
    blocks, _ = _blocks(document.text, markdown=document.markdown)
    title = normalize(document.title).strip()
    # One normalisation for counting and for reading: a line with a link is counted by its link text, too.
    plains = [_plain(block.text) for block in blocks]
    _mark(blocks, plains, seen=Counter(plains), title=title, document=document, total=len(document.text))
    _mark_link_runs(blocks, markdown=document.markdown)
    # Cheap signals first: a tail they already cut is not sent to the embedding model.
    _cut_tail(blocks, len(document.text))
    if embedder is not None:
        _drift(blocks, embedder)
        _cut_tail(blocks, len(document.text))
    dropped = [(block.noise, block.text) for block in blocks if block.noise]
    _title_from(document, blocks)
    text = _keep_lines(document.text, blocks)
    return Cleaned(document=replace(document, text=text), dropped=dropped)


def _lines(text: str):
    """text.split("\n"), one line at a time."""
    start = 0
    while (end := text.find("\n", start)) != -1:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _clean_in_windows(document: Document) -> Cleaned:
    """A document longer than a page, cleaned a window of lines at a time so its memory is a window's, not the
    document's: the same per-line signals, repeated lines counted over the whole text, the site's tail looked for
    in the last window (that is where a site adds it), and no topic-drift check (see PAGE_MAX_CHARS).

    A document read in pieces (Document.pieces) comes back read in pieces too: its text is cleaned as it is read,
    and what it drops is recorded as it goes (afresh on each reading)."""
    title = normalize(document.title).strip()
    total, seen = _whole_text_signals(document)
    streamed = document.pieces is not None
    result = Cleaned(document=document)

    def cleaned_pieces():
        result.dropped, result.more_dropped = [], 0
        keep = DROPPED_KEPT if streamed else None
        yield from _cleaned_windows(document, total=total, seen=seen, title=title, result=result, keep=keep)

    result.document = replace(
        document,
        text="" if streamed else "".join(cleaned_pieces()),
        pieces=cleaned_pieces if streamed else None,
    )
    return result


class _RepeatedLines:
    """How often a short line occurs in a long text, when it is three times or more (else 0): what _mark() asks.

    Counted from the lines' hashes, 8 bytes a line, and only the repeated ones kept: a long text of many short lines
    (a table, code, a glossary) does not fill memory with a counter of them all."""

    def __init__(self, hashes: array):
        values = np.frombuffer(hashes, dtype=np.int64)
        values.sort()  # in place, in the array's own memory: np.unique would sort a copy
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        counts = np.diff(np.append(starts, len(values)))
        repeated = counts >= 3
        self._counts = dict(zip(values[starts[repeated]].tolist(), counts[repeated].tolist(), strict=True))

    def __getitem__(self, plain: str) -> int:
        return self._counts.get(hash(plain), 0)


def _whole_text_signals(document: Document) -> tuple[int, _RepeatedLines]:
    """A first reading of a long text, for what the windows need from all of it: its length, which short lines
    come back, and the title (its first line) and author line when the reader found none."""
    total, hashes, in_code, first = 0, array("q"), False, True
    for piece in document.text_pieces():
        total += len(piece)
        for line in _lines(piece):
            if not line.strip():
                continue
            # As _blocks() and _mark() read a line: a fence line and the lines inside are code, not author lines.
            fence = document.markdown and line.lstrip().startswith(("```", "~~~"))
            code, in_code = in_code or fence, in_code != fence
            if first:
                _title_from(document, [Block(text=line, start=0)])
                first = False
            if not code and not document.author and (m := _AUTHOR.match(line)):
                document.author = m.group("author").strip()
            # Only a short line is ever dropped as repeated, so only short lines are counted.
            if len(plain := _plain(line)) <= REPEATED_MAX:
                hashes.append(hash(plain))
    return total, _RepeatedLines(hashes)


def _windows(pieces, total: int):
    """(offset, window): the text in windows of whole lines, each ending at the first line end past WINDOW_CHARS,
    the last never a short remainder (a site's tail must fit in it whole)."""
    buffer: list[str] = []
    size = base = 0  # the characters in `buffer`, and where it starts in the text
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size <= WINDOW_CHARS:
            continue
        text, at = "".join(buffer), 0
        while (end := text.find("\n", at + WINDOW_CHARS)) != -1 and total - (base + end) >= WINDOW_CHARS:
            yield base + at, text[at : end + 1]
            at = end + 1
        base += at
        buffer, size = [text[at:]], len(text) - at
    if size:
        yield base, "".join(buffer)


def _cleaned_windows(
    document: Document, *, total: int, seen: _RepeatedLines, title: str, result: Cleaned, keep: int | None
):
    first, in_code = 0, False
    for start, window in _windows(document.text_pieces(), total):
        blocks, in_code = _blocks(window, markdown=document.markdown, offset=start, in_code=in_code)
        _mark(
            blocks,
            [_plain(block.text) for block in blocks],
            seen=seen,
            title=title,
            document=document,
            total=total,
            first=first,
        )
        _mark_link_runs(blocks, markdown=document.markdown)
        if start + len(window) >= total:
            _cut_tail(blocks, total)
        noise = [(block.noise, block.text) for block in blocks if block.noise]
        room = len(noise) if keep is None else min(len(noise), max(0, keep - len(result.dropped)))
        result.dropped += noise[:room]
        result.more_dropped += len(noise) - room
        first += len(blocks)
        yield _keep_lines(window, blocks, offset=start)


def _keep_lines(text: str, blocks: list[Block], *, offset: int = 0) -> str:
    """The text keeps its own line structure (blank lines, setext underlines, code fences); only noise lines go.

    `offset` is where `text` starts in the whole document (the blocks' starts count from there)."""
    noisy = {b.start for b in blocks if b.noise}
    out = []
    for line in text.split("\n"):
        if offset not in noisy:
            out.append(line)
        offset += len(line) + 1
    return "\n".join(out)


def _cut_tail(blocks: list[Block], total: int) -> None:
    """From the first late noise block after which noise dominates, everything goes, and its heading with it."""
    # The characters from each block to the end, all and noisy, summed once from the end rather than once per block.
    rest_chars, rest_noisy = [0] * (len(blocks) + 1), [0] * (len(blocks) + 1)
    for i in range(len(blocks) - 1, -1, -1):
        length = blocks[i].length
        rest_chars[i] = rest_chars[i + 1] + length
        rest_noisy[i] = rest_noisy[i + 1] + (length if blocks[i].noise else 0)
    for i, block in enumerate(blocks):
        if not block.noise or block.start < total * TAIL_START:
            continue
        marker = block.noise == "related-articles marker"
        if marker or rest_noisy[i] >= 0.4 * rest_chars[i]:
            for b in blocks[i:]:
                b.noise = b.noise or "site tail"
            heading = blocks[i - 1].text.strip().rstrip("?？") if i > 0 else ""
            if heading and _title_like(heading) and not _SENTENCE_MARKS.search(heading):
                blocks[i - 1].noise = blocks[i - 1].noise or "heading of the site tail"
            return
