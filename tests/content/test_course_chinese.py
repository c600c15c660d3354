"""The shipped course's Chinese reads as a careful native author writes it: full-width punctuation next to Chinese,
lists that render as lists, one term (词元) for token, and a glossary whose names point at one concept each."""

import re
from pathlib import Path

import frontmatter
import pytest
import yaml

import textkit
from content.services import shipped_concept_pairs

COURSE = Path(__file__).resolve().parents[2] / "content" / "courses" / "llm-basics"
CHINESE = sorted(COURSE.glob("*.zh.md"))
LESSONS = sorted(COURSE.glob("[0-9][0-9]-*.md"))

HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
HALF_WIDTH = r"[,;:()?!]"
# A comma or semicolon glued between two Latin words ("API,GPT") is a Chinese comma typed half-width, too.
HALF_WIDTH_NEXT_TO_CHINESE = re.compile(f"{HAN}{HALF_WIDTH}|{HALF_WIDTH}{HAN}|(?<=[A-Za-z])[,;](?=[A-Za-z])")
TOKEN = re.compile(r"\btokens?\b", re.IGNORECASE)
GLOSS = "词元（token）"
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
# Front-matter lines whose strings are not prose: citations as the article gives them, and lists of names in
# both languages (aliases and accepted answers are meant to hold the English term).
NOT_PROSE_KEYS = re.compile(r"^\s*-?\s*(?:aliases|accept|concepts|file|url|author|slug|language|order):")


def prose_lines(path: Path):
    """(line number, text) of a lesson file with fenced code, inline code, URLs, link and image targets and the
    `sources:` citations taken out, so only what a reader reads as prose remains."""
    lines = path.read_text(encoding="utf-8").splitlines()
    in_front, in_sources, in_fence = False, False, False
    for number, line in enumerate(lines, start=1):
        if number == 1 and line == "---":
            in_front = True
            continue
        if in_front:
            if line == "---":
                in_front = False
                continue
            if re.match(r"^\S", line):
                in_sources = line.startswith("sources:")
            if in_sources:
                continue
        elif line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        text = re.sub(r"`[^`]*`", " ", line)
        text = re.sub(r"\]\([^)]*\)", "]", text)
        text = re.sub(r"https?://\S+", " ", text)
        yield number, text, in_front


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.name)
def test_no_half_width_punctuation_next_to_a_chinese_character(path):
    hits = [
        f"{path.name}:{number}: …{text[max(0, m.start() - 12) : m.end() + 12]}…"
        for number, text, front in prose_lines(path)
        if not (front and NOT_PROSE_KEYS.match(text))
        for m in HALF_WIDTH_NEXT_TO_CHINESE.finditer(text)
    ]
    assert not hits, "\n".join(hits)


def test_the_course_description_in_chinese_has_full_width_punctuation():
    course = yaml.safe_load((COURSE / "course.yaml").read_text(encoding="utf-8"))
    for text in (course["title"]["zh"], course["description"]["zh"]):
        assert not HALF_WIDTH_NEXT_TO_CHINESE.search(text), text


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.name)
def test_a_list_is_never_written_as_one_line_with_semicolon_dash_separators(path):
    hits = [
        f"{path.name}:{number}: {text[:60]}" for number, text, _ in prose_lines(path) if re.search(r"[；;]\s*- ", text)
    ]
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.name)
def test_token_is_called_词元_after_one_gloss_at_most(path):
    glosses, hits = 0, []
    for number, text, front in prose_lines(path):
        if (front and NOT_PROSE_KEYS.match(text)) or not re.search(HAN, text):
            continue
        glosses += text.count(GLOSS)
        bare = TOKEN.findall(text.replace(GLOSS, ""))
        hits.extend(f"{path.name}:{number}: “{word}” in {text.strip()[:60]}" for word in bare)
    assert glosses <= 1, f"{path.name} glosses 词元（token） {glosses} times"
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_list_starts_after_a_blank_line_so_it_renders_as_a_list(path):
    hits, previous = [], ""
    for number, text, front in prose_lines(path):
        if (
            not front
            and LIST_ITEM.match(text)
            and previous.strip()
            and not LIST_ITEM.match(previous)
            and not previous.startswith(("  ", "\t"))
        ):
            hits.append(f"{path.name}:{number}: {text[:60]}")
        previous = "" if front else text
    assert not hits, "\n".join(hits)


def test_no_name_in_the_glossary_points_at_two_concepts():
    posts = {p.name: frontmatter.load(p) for p in LESSONS}
    owners: dict[str, set[str]] = {}
    for _en_name, en, _zh_name, zh in shipped_concept_pairs(posts):
        term = en.get("term") or zh.get("term", "")
        for name in [en.get("term", ""), zh.get("term", ""), *(en.get("aliases") or []), *(zh.get("aliases") or [])]:
            owners.setdefault(textkit.normalize(name), set()).add(textkit.normalize(term))
    shared = {name: sorted(terms) for name, terms in owners.items() if len(terms) > 1}
    assert not shared, shared


def test_推理速度_names_inference_and_bare_推理_never_names_reasoning():
    posts = {p.name: frontmatter.load(p) for p in LESSONS}
    names = {}
    for _en_name, en, _zh_name, zh in shipped_concept_pairs(posts):
        for name in [zh.get("term", ""), *(en.get("aliases") or []), *(zh.get("aliases") or [])]:
            names.setdefault(name, set()).add(en.get("term"))
    assert names["推理速度"] == {"inference"}
    assert names.get("推理", {"inference"}) == {"inference"}
    assert names["推理能力"] == {"reasoning"}
