"""Readers turn a file into a Document: Markdown with front matter, HTML (main text only), plain text, PDF."""

import io
import re
from pathlib import Path

import frontmatter

from .structure import Document

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf"}


class ReadError(Exception):
    """A file that cannot be ingested; the message says why, in words a user can act on."""


def decode(data: bytes) -> str:
    """Decode bytes whose encoding is unknown: UTF-8 first, then what charset-normalizer finds (GBK, Big5, …)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # loaded only for a file that is not UTF-8, which is rare

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
    return max(candidates.values(), key=_chinese_plausibility)


def _chinese_plausibility(text: str) -> float:
    from charset_normalizer.utils import is_cjk  # as in decode(): only for a file that is not UTF-8

    if not text:
        return 0.0
    common = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    rare = sum(1 for c in text if is_cjk(c) and not "\u4e00" <= c <= "\u9fff") + 5 * text.count("\ufffd")
    frequent = sum(1 for c in text if c in _FREQUENT)
    return (common + 3 * frequent - 5 * rare) / len(text)


# The most frequent characters of written Chinese in both scripts; a wrong decoding rarely produces them.
_FREQUENT = set("的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里"
                "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实"
                "這個們來為國時說會對們還進開從實學發後裡過經點問與")


def read_markdown(name: str, text: str) -> Document:
    post = frontmatter.loads(text)
    meta = dict(post.metadata)
    return Document(name=name, text=post.content, title=str(meta.get("title") or ""), author=str(meta.get("author") or ""),
                    url=str(meta.get("url") or ""), language=str(meta.get("language") or ""), markdown=True, meta=meta)


def read_html(name: str, text: str) -> Document:
    import trafilatura  # loaded only for HTML: it pulls in lxml and its language data

    # extract() gives the Markdown body; the metadata comes separately (bare_extraction's text is not Markdown).
    body = trafilatura.extract(text, output_format="markdown", include_tables=True, include_links=True)
    if not (body or "").strip():
        raise ReadError("no main text was found in the HTML page")
    meta = trafilatura.extract_metadata(text)
    return Document(name=name, text=body, title=(meta.title if meta else "") or "",
                    author=(meta.author or meta.sitename if meta else "") or "", url=(meta.url if meta else "") or "",
                    markdown=True)


def read_pdf(name: str, data: bytes) -> Document:
    # Loaded only for PDF files, the rarest upload.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
        author = (reader.metadata.author if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise ReadError(f"the PDF could not be read ({error})") from error
    text = "\n\n".join(pages).strip()
    if not text:
        raise ReadError("the PDF has no extractable text (a scan needs OCR first)")
    return Document(name=name, text=text, title=str(title), author=str(author))


def read_bytes(name: str, data: bytes) -> Document:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError(f"unsupported file type {suffix or '(none)'}; use .md, .txt, .html or .pdf")
    if not data.strip():
        raise ReadError("the file is empty")
    if suffix == ".pdf":
        return read_pdf(name, data)
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if suffix in {".html", ".htm"} or (suffix in {".txt", ".text"} and re.match(r"\s*<(!doctype|html)", text, re.I)):
        return read_html(name, text)
    if suffix in {".md", ".markdown"}:
        return read_markdown(name, text)
    return Document(name=name, text=text)


def collect(paths) -> list[Path]:
    """Files to ingest: the given files, and every supported file inside the given folders, in name order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                                and p.name.lower() != "readme.md"))
        else:
            files.append(path)
    return files
