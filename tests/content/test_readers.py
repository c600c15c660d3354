import io

import pytest

from content import readers
from content.readers import ReadError, read_bytes

TEXT_ZH = "深度學習是機器學習的一個分支。神經網絡透過反向傳播來學習參數,損失函數衡量預測與標準答案之間的差距。"


def test_a_gbk_file_is_decoded():
    text = TEXT_ZH.replace("學", "学").replace("習", "习").replace("機", "机").replace("網絡", "网络")
    document = read_bytes("notes.txt", text.encode("gbk"))
    assert "反向" in document.text and "损失" not in document.text or "損失" in document.text or "损失" in document.text
    assert document.text.startswith("深度")


def test_a_big5_file_is_decoded():
    document = read_bytes("bishop.txt", TEXT_ZH.encode("big5"))
    assert document.text == TEXT_ZH


def test_utf8_with_a_byte_order_mark_is_decoded():
    assert read_bytes("a.txt", "词元与预测。".encode("utf-8-sig")).text == "词元与预测。"


def test_markdown_front_matter_becomes_metadata():
    document = read_bytes("lesson.md", b"---\ntitle: LoRA\nauthor: Primer\n---\n## Rank\nText.")
    assert (document.title, document.author, document.markdown) == ("LoRA", "Primer", True)
    assert document.text.startswith("## Rank")


def test_html_keeps_the_article_and_drops_the_navigation():
    article = "<p>" + "Attention lets every token look at every other token in the sequence. " * 8 + "</p>"
    page = (
        f"<html><head><title>Attention</title></head><body><nav><a href='/'>Home</a> <a href='/x'>Login</a></nav>"
        f"<article><h1>Attention</h1>{article}</article><footer>Copyright 2024 Example Inc.</footer></body></html>"
    )
    document = read_bytes("page.html", page.encode())
    assert "every token look at" in document.text
    assert "Login" not in document.text and "Copyright" not in document.text


def test_a_pdf_is_read(tmp_path):
    pdf = _pdf_with_text("Tokens are the units a language model reads.")
    document = read_bytes("tokens.pdf", pdf)
    assert "language model" in document.text


def test_a_corrupt_pdf_is_refused_with_a_reason():
    with pytest.raises(ReadError, match="PDF"):
        read_bytes("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n%%EOF")


def test_unsupported_and_empty_files_are_refused():
    with pytest.raises(ReadError, match="unsupported"):
        read_bytes("photo.jpg", b"\xff\xd8\xff")
    with pytest.raises(ReadError, match="empty"):
        read_bytes("empty.txt", b"   ")


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF with real text content, written by hand: pypdf reads but does not typeset."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_a_long_file_read_in_pieces_is_refused_for_the_same_reasons(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "STREAM_MIN_BYTES", 10)
    (tmp_path / "blank.txt").write_bytes(b" \n\t\n" * 100)
    (tmp_path / "photo.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    for name, reason in [("blank.txt", "empty"), ("photo.md", "binary data")]:
        with pytest.raises(ReadError, match=reason):
            read_bytes(name, (tmp_path / name).read_bytes())
        with pytest.raises(ReadError, match=reason):
            readers.read_path(tmp_path / name)


def test_a_long_gbk_file_read_in_pieces_is_decoded_as_it_is_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "STREAM_MIN_BYTES", 10)
    monkeypatch.setattr(readers, "PIECE_CHARS", 7)
    text = "第一章 注意力\r\n\r\n" + "注意力让每个词元都能看到序列中的其他词元。\r\n" * 40
    (tmp_path / "notes.txt").write_bytes(text.encode("gbk"))

    document = readers.read_path(tmp_path / "notes.txt")

    assert document.pieces is not None and len(list(document.pieces())) > 1
    assert "".join(document.pieces()) == read_bytes("notes.txt", text.encode("gbk")).text
