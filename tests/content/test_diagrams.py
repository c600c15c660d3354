import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.urls import reverse

from content import services
from content.models import Chunk, Course
from content.rendering import markdown_to_html

SHIPPED = Path(services.SHIPPED_COURSES) / "llm-basics"
DIAGRAMS = SHIPPED / "diagrams"
DIAGRAM_LINE = re.compile(
    r"^!\[(?P<alt>[^\]]*)\]\(diagrams/(?P<name>[a-z0-9-]+)\.(?P<lang>en|zh)\.svg\)$", re.MULTILINE
)
LESSONS = sorted(p for p in SHIPPED.glob("*.md") if p.name.upper() != "FORMAT.MD")
SVGS = sorted(DIAGRAMS.glob("*.svg"))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_every_lesson_shows_a_diagram_in_its_own_language_with_alt_text(lesson):
    language = lesson.name.split(".")[-2]
    found = list(DIAGRAM_LINE.finditer(lesson.read_text(encoding="utf-8")))
    assert found, f"{lesson.name} references no diagram"
    for match in found:
        assert match["lang"] == language, f"{lesson.name} shows the {match['lang']} version of {match['name']}"
        assert match["alt"].strip(), f"{lesson.name}: the diagram {match['name']} has no alt text"
        assert (DIAGRAMS / f"{match['name']}.{language}.svg").is_file(), f"{match['name']}.{language}.svg is missing"


@pytest.mark.parametrize("path", SVGS, ids=lambda p: p.name)
def test_every_diagram_is_a_self_contained_svg(path):
    assert re.fullmatch(r"[a-z0-9-]+\.(en|zh)\.svg", path.name)
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
    assert float(root.get("width", "0")) <= 720
    for element in root.iter():
        assert not element.tag.endswith("}script") and not element.tag.endswith("foreignObject"), path.name
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{path.name}: event handler {name}"
            if name.endswith("href"):
                assert value.startswith("#"), f"{path.name}: external reference {value}"
            assert "url(" not in value or value.startswith("url(#"), f"{path.name}: external url in {name}"


def test_both_languages_of_a_diagram_exist():
    names = {p.name.rsplit(".", 2)[0] for p in SVGS}
    assert names and all((DIAGRAMS / f"{n}.en.svg").is_file() and (DIAGRAMS / f"{n}.zh.svg").is_file() for n in names)


@pytest.fixture
def course(db, tmp_path):
    """The shipped course's course.yaml and its LoRA lesson in both languages (all of it takes minutes to embed)."""
    for name in ["course.yaml", "10-lora-and-matrix-rank.en.md", "10-lora-and-matrix-rank.zh.md"]:
        shutil.copy(SHIPPED / name, tmp_path / name)
    services.shipped_course_load(folder=tmp_path)
    return Course.objects.get(slug="llm-basics")


def _alt(lesson_file: str) -> str:
    return DIAGRAM_LINE.search((SHIPPED / lesson_file).read_text(encoding="utf-8"))["alt"]


@pytest.mark.parametrize(
    "lang, file", [("en", "10-lora-and-matrix-rank.en.md"), ("zh-hans", "10-lora-and-matrix-rank.zh.md")]
)
def test_alice_sees_the_lora_diagram_with_its_alt_text_and_the_svg_is_served(client, alice, course, lang, file):
    client.force_login(alice)
    page = client.get(
        reverse("lesson_detail", args=["llm-basics", "lora-and-matrix-rank"]) + f"?lang={lang}"
    ).content.decode()
    suffix = "en" if lang == "en" else "zh"
    src = re.search(rf'<img src="(/courses/llm-basics/diagrams/lora-patch\.{suffix}\.svg\?v=\w+)" alt="([^"]*)"', page)
    assert src, "the lesson page shows no diagram"
    assert src[2] == _alt(file).replace("&", "&amp;")
    assert "![" not in page
    response = client.get(src[1].replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert "max-age=31536000" in response["Cache-Control"]
    assert b"<svg" in b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "course_slug, name",
    [
        ("llm-basics", "nope.en.svg"),
        ("llm-basics", "lora-patch.fr.svg"),
        ("llm-basics", "LORA-PATCH.en.svg"),
        ("llm-basics", "..%2Fcourse.yaml"),
        ("llm-basics", "..%2F10-lora-and-matrix-rank.en.md"),
        ("llm-basics", "lora-patch.en.svg%00.md"),
        ("no-such-course", "lora-patch.en.svg"),
    ],
)
def test_a_diagram_that_is_not_a_shipped_svg_answers_404(client, alice, course_slug, name):
    client.force_login(alice)
    assert client.get(f"/courses/{course_slug}/diagrams/{name}").status_code == 404


def test_a_path_outside_the_diagrams_folder_answers_404(client, alice):
    client.force_login(alice)
    for url in [
        "/courses/llm-basics/diagrams/../course.yaml",
        "/courses/llm-basics/diagrams/%2E%2E/course.yaml",
        "/courses/..%2F..%2Fconfig/diagrams/settings.en.svg",
    ]:
        assert client.get(url).status_code == 404, url


def test_a_diagram_is_only_for_signed_in_learners(client):
    assert client.get("/courses/llm-basics/diagrams/lora-patch.en.svg").status_code == 302


@pytest.mark.parametrize(
    "markdown",
    [
        "![a tracking pixel](https://evil.example/pixel.png)",
        "![a script](javascript:alert(1))",
        "![inline data](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
        "![a diagram of another course](diagrams/../../secret.en.svg)",
        '<img src="https://evil.example/pixel.png" alt="raw html" onerror="alert(1)">',
    ],
)
def test_an_image_that_is_not_a_course_diagram_shows_only_its_alt_text(markdown):
    html = markdown_to_html(markdown, diagram_url=lambda name: f"/courses/llm-basics/diagrams/{name}")
    assert "<img" not in html and "evil" not in html and "javascript" not in html and "onerror" not in html
    assert re.search(r"a tracking pixel|a script|inline data|a diagram of another course|raw html", html)


def test_a_diagram_without_a_file_shows_its_alt_text():
    html = markdown_to_html("![what it shows](diagrams/missing.en.svg)", diagram_url=lambda name: None)
    assert "<img" not in html and "what it shows" in html


def test_search_text_reads_the_diagram_as_its_alt_text(course):
    alt = _alt("10-lora-and-matrix-rank.en.md")
    chunks = Chunk.objects.filter(section__lesson__course=course, section__lesson__language="en")
    texts = [c.text for c in chunks]
    assert any(alt in text for text in texts)
    assert not any("![" in text or "diagrams/" in text for text in texts)
    assert not any("diagrams/" in c.search_tokens for c in chunks)
