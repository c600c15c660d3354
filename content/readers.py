"""Readers turn a file into a Document: Markdown with front matter, HTML (main text only), plain text, PDF, Word."""

import codecs
import io
import re
import tomllib
from collections.abc import Iterator
from html import escape
from pathlib import Path

import frontmatter
import yaml

from .structure import Document

COLUMN_MIN_LINES = 6  # fewer lines than this are too few to tell a gutter from chance spacing
SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx"}


class ReadError(Exception):
    """A file that cannot be ingested; the message says why, in words a user can act on."""


def decode(data: bytes) -> str:
    """Decode bytes whose encoding is unknown: UTF-8 first, then what charset-normalizer finds (GBK, Big5, …)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith(_UTF16_BOMS):  # Windows Notepad's "Unicode", PowerShell 5's redirected output
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ReadError("the file says it is UTF-16 but is damaged") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = _decodings(data)
    return candidates[max(candidates, key=lambda encoding: _chinese_plausibility(candidates[encoding]))]


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _single_byte(data: bytes) -> bool:
    """Western text (Windows-1252: curly quotes, dashes, accents): its non-ASCII bytes stand alone between ASCII
    ones ("don\x92t"), where Chinese in GBK or Big5 comes in runs of byte pairs."""
    runs = re.findall(rb"[\x80-\xff]+", data)
    return bool(runs) and sum(len(run) == 1 for run in runs) >= 0.8 * len(runs)


def _decodings(data: bytes) -> dict[str, str]:
    """The readings of bytes that are not UTF-8, by encoding: charset-normalizer's best guess, GB18030 and Big5."""
    from charset_normalizer import from_bytes  # loaded only for a file that is not UTF-8, which is rare

    if _single_byte(data):
        return {"cp1252": data.decode("cp1252", errors="replace")}

    # Short Chinese files are ambiguous between GBK and Big5; try those too and keep the decoding
    # that reads most like Chinese text (fewest rare characters and replacement marks).
    candidates = {}
    best = from_bytes(data).best()
    if best is not None:
        candidates[best.encoding] = str(best)
    for encoding in ("gb18030", "big5"):
        try:
            candidates.setdefault(encoding, data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise ReadError("the text encoding could not be detected")
    return candidates


def _chinese_plausibility(text: str) -> float:
    from charset_normalizer.utils import is_cjk  # as in decode(): only for a file that is not UTF-8

    if not text:
        return 0.0
    common = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    rare = sum(1 for c in text if is_cjk(c) and not "\u4e00" <= c <= "\u9fff") + 5 * text.count("\ufffd")
    frequent = sum(1 for c in text if c in _FREQUENT)
    return (common + 3 * frequent - 5 * rare) / len(text)


# The most frequent characters of written Chinese in both scripts; a wrong decoding rarely produces them.
_FREQUENT = set(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里"
    "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实"
    "這個們來為國時說會對們還進開從實學發後裡過經點問與"
)


# Notion names an exported page "Title 3f9a2c7e41b84d0a9e6b5c1d2f708a93.md": the hash is its page id.
_NOTION_ID = re.compile(r"\s+[0-9a-f]{32}$")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_PROPERTY = re.compile(r"^(?P<key>[^\W\d][\w ]{0,29}):\s+(?P<value>\S.{0,200})$")
# Notion writes callouts as <aside> and toggles as <details><summary>: keep their words, drop the tags.
_WRAPPER_TAG = re.compile(r"^\s*</?(aside|details)>\s*$", re.MULTILINE)
_SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.DOTALL)
_FENCED = re.compile(r"(^[ \t]*(?:`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?:`{3,}|~{3,})[ \t]*$)", re.MULTILINE | re.DOTALL)
_HIDDEN_HTML = re.compile(r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def page_name(name: str) -> str:
    """A file's name as a reader would say it: no folder, no suffix, no exported page id."""
    return _NOTION_ID.sub("", Path(name).stem)


def read_markdown(name: str, text: str) -> Document:
    body, meta = _markdown_body(text)
    return _markdown_document(name, body, meta)


def _markdown_body(text: str) -> tuple[str, dict]:
    """The body of a Markdown file and its metadata: front matter, and a Notion page's properties."""
    content, metadata = _front_matter(text)
    body, properties = _page_properties(content)
    return _unwrapped(body), {**properties, **metadata}


_TOML_FRONT_MATTER = re.compile(r"\+\+\+[ \t]*\n(.*?)\n\+\+\+[ \t]*(?:\n|$)", re.DOTALL)


def _front_matter(text: str) -> tuple[str, dict]:
    """The text after its YAML front matter, and the front matter. A block between two "---" lines that is not a
    mapping is text between two rules, kept; front matter YAML cannot parse ("title: RAG: an intro") is dropped as
    metadata, so the page still goes in."""
    text, handler = text.strip(), frontmatter.YAMLHandler()
    if toml := _TOML_FRONT_MATTER.match(text):  # Hugo's "+++" block
        try:
            metadata = tomllib.loads(toml.group(1))
        except tomllib.TOMLDecodeError:
            metadata = {}
        return text[toml.end() :].strip(), metadata
    try:
        block, content = handler.split(text) if handler.detect(text) else (None, text)
    except ValueError:
        block, content = None, text
    if block is None:
        return text, {}
    try:
        metadata = handler.load(block) or {}
    except yaml.YAMLError:
        keyed = all(re.match(r"\s*(?:[\w-]+\s*:|- )", line) for line in block.splitlines() if line.strip())
        return (content.strip(), {}) if keyed else (text, {})
    return (content.strip(), metadata) if isinstance(metadata, dict) else (text, {})


def _unwrapped(text: str) -> str:
    # The writer's hidden notes and a page's scripts are not lesson text; a code block showing them is.
    text = "".join(
        piece if piece.lstrip().startswith(("```", "~~~")) else _HIDDEN_HTML.sub("", piece)
        for piece in _FENCED.split(text)
    )
    return _SUMMARY.sub(lambda m: f"**{m.group(1).strip()}**", _WRAPPER_TAG.sub("", text))


def _markdown_document(name: str, body: str, meta: dict, pieces=None) -> Document:
    """`body` is the whole text, or for a file read in `pieces` its beginning: the title is found there."""
    first, _, rest = body.lstrip().partition("\n")
    # "# Title", or the setext form: the title underlined with "===".
    setext = first.strip() if first.strip() and re.match(r"=+\s*$", rest.partition("\n")[0]) else ""
    title = str(meta.get("title") or "") or (m.group(1) if (m := _H1.match(first)) else "") or setext or page_name(name)
    author = str(meta.get("author") or meta.get("Owner") or meta.get("Created by") or "")
    return Document(
        name=name,
        text="" if pieces else body,
        title=title,
        author=author,
        url=str(meta.get("url") or ""),
        language=str(meta.get("language") or ""),
        markdown=True,
        meta=meta,
        pieces=pieces,
    )


def _page_properties(text: str) -> tuple[str, dict]:
    """The "Key: value" lines a Notion export puts between the page title and its body, as metadata."""
    lines = text.lstrip().split("\n")
    start = 1 if lines and _H1.match(lines[0]) else 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and _PROPERTY.match(lines[end].strip()):
        end += 1
    # One "Note: …" line is a sentence of the text; a block of two or more is the page's properties.
    if end - start < 2 or (end < len(lines) and lines[end].strip()):
        return text, {}
    matches = [_PROPERTY.match(line.strip()) for line in lines[start:end]]
    properties = {m["key"].strip(): m["value"].strip() for m in matches}
    return "\n".join(lines[:start] + lines[end:]), properties


def read_html(name: str, text: str) -> Document:
    import trafilatura  # loaded only for HTML: it pulls in lxml and its language data

    page_title = ""
    if 'id="main-content"' in text:
        text, page_title = _confluence_page(text)
    # extract() gives the Markdown body; the metadata comes separately (bare_extraction's text is not Markdown).
    body = trafilatura.extract(text, output_format="markdown", include_tables=True, include_links=True)
    if not (body or "").strip():
        raise ReadError("no main text was found in the HTML page")
    meta = trafilatura.extract_metadata(text)
    return Document(
        name=name,
        text=body,
        title=page_title or (meta.title if meta else "") or "",
        author=(meta.author or meta.sitename if meta else "") or "",
        url=(meta.url if meta else "") or "",
        markdown=True,
    )


def _confluence_page(html: str) -> tuple[str, str]:
    """A Confluence export: the page body is #main-content, its title #title-text ("Space : Page"); the
    breadcrumbs, the "Created by … last modified by …" line, attachments and the page tree sit outside."""
    import lxml.html

    tree = lxml.html.fromstring(re.sub(r"^\s*<\?xml[^>]*>", "", html))
    main = tree.get_element_by_id("main-content", None)
    if main is None:
        return html, ""
    title = tree.get_element_by_id("title-text", None)
    title = re.sub(r"^[^:]{1,80}\s:\s", "", title.text_content().strip()) if title is not None else ""
    heading = f"<h1>{escape(title)}</h1>" if title else ""
    body = lxml.html.tostring(main, encoding="unicode")
    page = f"<html><head><title>{escape(title)}</title></head><body><article>{heading}{body}</article></body></html>"
    return page, title


def read_pdf(name: str, data: bytes) -> Document:
    # Loaded only for PDF files, the rarest upload.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [_page_text(page) for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
        author = (reader.metadata.author if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise ReadError(f"the PDF could not be read ({error})") from error
    text = "\n\n".join(pages).strip()
    if not text:
        raise ReadError("the PDF has no extractable text (a scan needs OCR first)")
    return Document(name=name, text=text, title=str(title), author=str(author))


def _page_text(page) -> str:
    """A page's text in reading order: a two-column page column by column, not line by line across both."""
    try:
        layout = page.extract_text(extraction_mode="layout")
    except Exception:  # noqa: BLE001 -- layout mode is only a hint; the plain extraction below still reads the page
        layout = ""
    columns = _columns(layout.splitlines())
    return columns if columns is not None else page.extract_text() or ""


def _columns(lines: list[str]) -> str | None:
    """Layout text split at its gutter: a character column blank in nearly every line, with text on both sides
    in most lines. None for a one-column page (prose has no such column)."""
    filled = [line.rstrip() for line in lines if line.strip()]
    if len(filled) < COLUMN_MIN_LINES:
        return None
    width = max(map(len, filled))
    best, best_both = None, 0
    for c in range(width // 4, 3 * width // 4):
        blank = sum(1 for line in filled if c >= len(line) or line[c] == " ")
        both = sum(
            1 for line in filled if len(line) > c + 1 and line[c] == " " and line[:c].strip() and line[c:].strip()
        )
        if blank >= 0.9 * len(filled) and both >= 0.5 * len(filled) and both > best_both:
            best, best_both = c, both
    if best is None:
        return None
    left, right = [], []
    for line in lines:
        line = line.rstrip()
        if len(line) > best and line[best] != " ":
            left.append(line)  # a full-width line (a title across both columns) reads first
            continue
        left.append(line[:best])
        right.append(line[best:])
    tidy = [re.sub(r" {2,}", " ", line).strip() for line in left + [""] + right]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(tidy)).strip()


_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def read_docx(name: str, data: bytes) -> Document:
    """A Word file as Markdown: heading styles become headings, tables become rows, list paragraphs list items."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not data.startswith(b"PK\x03\x04"):
        kind = _binary_kind(data) or "text"
        raise ReadError(f"the file is not a Word document (it is {kind})")
    try:
        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError) as error:
        raise ReadError("the file is not a Word document (it is a zip archive without a document in it)") from error
    except (zipfile.BadZipFile, ValueError) as error:
        raise ReadError(f"the Word file is damaged ({error})") from error
    lines, title = [], word.core_properties.title or ""
    for block in word.iter_inner_content():
        if isinstance(block, docx.table.Table):
            lines.extend(["", *_docx_table(block), ""])
            continue
        text = block.text.strip()
        if not text:
            continue
        style = block.style.name if block.style is not None else ""
        if style == "Title":
            title = title or text
            lines.extend([f"# {text}", ""])
        elif m := _HEADING_STYLE.match(style):
            lines.extend([f"{'#' * min(6, int(m.group(1)) + 1)} {text}", ""])
        elif "List Number" in style:
            lines.append(f"1. {text}")
        elif "List" in style or block._p.pPr is not None and block._p.pPr.numPr is not None:
            lines.append(f"- {text}")
        else:
            lines.extend([text, ""])
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not body:
        raise ReadError("the Word file has no text")
    return Document(name=name, text=body, title=title, author=word.core_properties.author or "", markdown=True)


def _docx_table(table) -> list[str]:
    """A Word table as Markdown rows, the first row its header; merged cells repeat, so repeats are dropped."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is the same <w:tc> repeated
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()).replace("|", "/"))
        rows.append(cells)
    width = max(map(len, rows), default=0)
    out = [f"| {' | '.join(cells + [''] * (width - len(cells)))} |" for cells in rows if any(cells)]
    return out[:1] + ["|" + "---|" * width] + out[1:] if out else []


# A renamed file says what it is in its first bytes.
_SIGNATURES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a zip archive or an Office file"),
    (b"\xd0\xcf\x11\xe0", "an old Office file"),
]


def _binary_kind(data: bytes) -> str:
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data.startswith(_UTF16_BOMS):
        return ""  # UTF-16 text has NUL bytes but is text (decode() reads it)
    # Text in any of the encodings read here has no NUL bytes; UTF-16 would, and is not supported.
    return "an unknown binary format" if b"\x00" in data[:8192] else ""


def read_bytes(name: str, data: bytes) -> Document:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = suffix or "(none)"
        raise ReadError(f"unsupported file type {kind}; use .md, .txt, .html, .pdf or .docx")
    if not data.strip():
        raise ReadError("the file is empty")
    if suffix not in {".pdf", ".docx"} and (kind := _binary_kind(data)):
        raise ReadError(f"the file holds binary data (it looks like {kind}), not text")
    if suffix == ".pdf":
        return read_pdf(name, data)
    if suffix == ".docx":
        return read_docx(name, data)
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if suffix in {".html", ".htm"} or (suffix in {".txt", ".text"} and re.match(r"\s*<(!doctype|html)", text, re.I)):
        return read_html(name, text)
    if suffix in {".md", ".markdown"}:
        return read_markdown(name, text)
    return Document(name=name, text=text)


# A text or Markdown file this long is never held whole: the Document reads it from disk a piece at a time whenever
# its text is needed, so ingesting it takes a piece's memory, not the file's (Document.pieces).
STREAM_MIN_BYTES = 1_000_000
STREAMED_SUFFIXES = {".md", ".markdown", ".txt", ".text"}
PIECE_CHARS = 65_536
HEAD_CHARS = 65_536  # front matter, a page's properties and its title are found in this much of its beginning
SAMPLE_BYTES = 65_536  # a text that is not UTF-8 has its encoding detected on this much of its beginning


def is_streamed(path: Path) -> bool:
    """A long text or Markdown file, which read_path reads in pieces; any other file is read whole."""
    return path.suffix.lower() in STREAMED_SUFFIXES and path.stat().st_size >= STREAM_MIN_BYTES


def read_path(path: Path) -> Document:
    """A file as a Document: a long text or Markdown file read in pieces, any other file whole (read_bytes)."""
    suffix = path.suffix.lower()
    if not is_streamed(path):
        return read_bytes(path.name, path.read_bytes())
    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
    if kind := _binary_kind(sample):
        raise ReadError(f"the file holds binary data (it looks like {kind}), not text")
    if sample.startswith(_UTF16_BOMS):
        return read_bytes(path.name, path.read_bytes())
    if suffix in {".txt", ".text"} and re.match(rb"\s*<(!doctype|html)", sample.removeprefix(b"\xef\xbb\xbf"), re.I):
        return read_bytes(path.name, path.read_bytes())  # an HTML page saved as text: its reader needs it whole
    encoding = _file_encoding(path, sample)
    if suffix in {".txt", ".text"}:
        return Document(name=path.name, text="", pieces=lambda: _text_pieces(path, encoding))
    head, meta = _markdown_body(_head(_text_pieces(path, encoding)))
    return _markdown_document(path.name, head, meta, pieces=lambda: _markdown_pieces(path, encoding))


def _file_encoding(path: Path, sample: bytes) -> str:
    """UTF-8 when the whole file decodes as UTF-8 (checked a block at a time), else what its beginning reads as."""
    decoder, blank = codecs.getincrementaldecoder("utf-8")(), True
    try:
        with path.open("rb") as file:
            while block := file.read(SAMPLE_BYTES):
                decoder.decode(block)
                blank = blank and block.isspace()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    else:
        if blank:
            raise ReadError("the file is empty")
        return "utf-8-sig"  # UTF-8, its byte-order mark dropped as decode() drops it
    # Cut at a line end, so the sample does not end inside a character (no GBK or Big5 byte pair holds a "\n").
    sample = sample[: sample.rfind(b"\n") + 1] or sample
    candidates = _decodings(sample)
    return max(candidates, key=lambda encoding: _chinese_plausibility(candidates[encoding]))


def _text_pieces(path: Path, encoding: str) -> Iterator[str]:
    """The file's text a run of whole lines at a time, each line ending in "\n" as read_bytes() makes them."""
    # Universal newlines turn "\r\n" and "\r" into "\n", as read_bytes() does; a detected encoding may still meet
    # a byte it cannot read past the sample, which becomes a replacement mark rather than a failed file.
    errors = "strict" if encoding == "utf-8-sig" else "replace"
    with path.open(encoding=encoding, errors=errors, newline=None) as file:
        rest = ""
        while block := file.read(PIECE_CHARS):
            text = rest + block
            cut = _piece_end(text)
            if cut:
                yield text[:cut]
            rest = text[cut:]
        if rest:
            yield rest


def _piece_end(text: str) -> int:
    """Where a piece may end: after the last line with words that is not a wrapper tag, or 0. So the blank lines
    about a tag are in the same piece as the tag, and _unwrapped() reads each piece as it reads the whole text."""
    end = len(text)
    while (newline := text.rfind("\n", 0, end)) != -1:
        line = text[text.rfind("\n", 0, newline) + 1 : newline]
        if line.strip() and not _WRAPPER_TAG.match(line):
            return newline + 1
        end = newline
    return 0


def _head(pieces: Iterator[str]) -> str:
    """The first pieces, HEAD_CHARS or more of them."""
    head: list[str] = []
    while sum(map(len, head)) < HEAD_CHARS and (piece := next(pieces, None)) is not None:
        head.append(piece)
    return "".join(head)


def _markdown_pieces(path: Path, encoding: str) -> Iterator[str]:
    """A long Markdown file's body in pieces: its beginning read as read_markdown() reads a file, then the rest."""
    pieces = _text_pieces(path, encoding)
    head = _head(pieces)
    body, _ = _markdown_body(head)
    # The front matter parser strips the text's ends; the end of the beginning is not the text's end.
    yield body + head[len(head.rstrip()) :]
    for piece in pieces:
        yield _unwrapped(piece)


def collect(paths) -> list[Path]:
    """Files to ingest: the given files, and every supported file inside the given folders, in name order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.name.lower() != "readme.md"
                )
            )
        else:
            files.append(path)
    return files
