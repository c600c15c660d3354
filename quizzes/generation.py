"""Question generation for a course: one LLM call per section when a model is configured, rules otherwise.
A section longer than the model's context is sent in pieces that fit, cut between sentences.

Rules (offline): "which concept matches this definition" from the course's concepts, and one question per fact:
a term of the lesson (glossary, defining sentences such as "X 是指 …" or "X is a …", English names, TF-IDF key
phrases) and the sentence that best teaches it, asked as a blank or as a choice among other terms of the course.
Every draft goes through verification; failures are saved as rejected with their reason.
"""

import functools
import hashlib
import json
import logging
import random
import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import llm
import textkit
from content.models import Concept, Course, Section
from llm.embeddings import get_embedder
from llm.tokens import count_messages, count_tokens
from textkit.words import LLM_TERMS

from .models import GenerationRun, Question
from .verification import Draft, check_duplicate, draft_problems, embedding_text, plain, problem_kind

logger = logging.getLogger(__name__)

MAX_FACTS_PER_SECTION = 2
CANDIDATES = 8  # facts per section considered, best first
SAME_SENTENCE = 0.92
SENTENCE_LENGTH = (20, 180)
BOLD = re.compile(r"\*\*([^*]{2,60})\*\*")
TERM_CHARS = r"[\u4e00-\u9fffA-Za-z0-9\-]"
# Where a sentence introduces a term: "X 是指 …", "所谓 X", "称为 X", "X（English）", "X is a …", "called X".
ZH_DEFINING = re.compile(
    rf"^(?:[^，,：:]{{0,12}}[，,：:])?\s*(?P<term>{TERM_CHARS}{{2,12}}?)"
    r"(?:是指|指的是|是一种|是一個|是一个|是一類|是一类|是一種|就是|被称为|被稱為|叫做|即是|是用来|是用於|是用于)"
)
DEFINING_PATTERNS = [
    ZH_DEFINING,
    re.compile(rf"所谓[“\"]?(?P<term>{TERM_CHARS}{{2,10}}?)[”\"]?(?:[，,]|就是|是|指)"),
    re.compile(rf"(?:称为|称作|叫做|被称为|简称)[“\"]?(?P<term>{TERM_CHARS}{{2,10}}?)[”\"]?(?:[，,。；）)]|$)"),
    re.compile(r"[\u4e00-\u9fff][（(](?P<term>[A-Za-z][A-Za-z0-9\- ]{1,38}[A-Za-z0-9])[)）]"),
    re.compile(r"^(?:The |An? )?(?P<term>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*){0,2}) (?:is|are) (?:a|an|the)\b"),
    re.compile(r"\bcalled (?:an? |the )?(?P<term>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)?)"),
    re.compile(r"^(?:The |An? )?(?P<term>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*){0,2}), which\b"),
]
# The word right after a term (or right before it) that makes the sentence a definition of that term.
DEFINES_AFTER = re.compile(
    r"^\s*[”\"）)]?\s*(?:（[^）]{1,40}）|\([^)]{1,40}\))?\s*"
    r"(?:是|指|即|就是|也就是|称为|[，,]\s*即|is an? |is the |are |refers to |means |, which )"
)
DEFINES_BEFORE = re.compile(r"(?:所谓|称为|称作|叫做|被称为|简称|called (?:an? |the )?)[“\"]?\s*$")
FENCED_CODE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
# English names in any lesson: CamelCase (LoRA, PyTorch), acronyms (RLHF, GPT-3), capitalised phrases (Hugging Face).
EN_NAME = re.compile(
    r"(?<![\w-])(?:[A-Z][a-z]*[A-Z][\w-]*|[A-Z]{2,}[\w-]*|[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})+|"
    r"[A-Z][a-z]{3,}[a-z-]*)(?![\w-])"
)
ONE_CAPITAL = re.compile(r"[A-Z][a-z-]+")
# Words a lesson uses often that name no idea to learn, and the subjects of defining sentences that are pointers.
GENERIC_TERMS = frozenset(
    "模型 训练 参数 效果 问题 方法 数据 过程 能力 技术 文章 读者 大家 "
    "领域 发展 影响 形式 元素 示例 视频 书籍 入门 指南 代表 方向 结构 "
    "深度 大脑 人脑 实际 本质 研究 论文 成本 时候 东西 事情 工作 内容 "
    "结果 部分 方式 情况 例子 本章 章节 作者 公司 图片 图像 代码 文本 "
    "网络 语言 对话 系统 任务 时间 地方 原理 概念 知识 目标 基础 理论 "
    "版本 步骤 角度 程度 本书 全书 课程 资料 教程 学习 人们 答案 意义 "
    "作用 输入 输出 函数 变量 系数 数字 数值 信息 场景 用户 产品 项目 "
    "行业 专业 核心 关键 重点 特点 优势 里面 大概 同学 朋友 This "
    "That These Those There Here When What "
    "Which Where While With From Then They "
    "Their However".split()
)
NOT_A_TERM = re.compile(
    r"^(这|那|我|你|他|她|它|此|该|其|下面|上面|上图|如下|比如|例如|有|所以|因为|但|而|也|就|都|"
    r"实际上|意思|本文|笔者|大家|如果|the |this |that |it |we |you |they )",
    re.IGNORECASE,
)


@dataclass
class Report:
    approved: int = 0
    drafts: int = 0
    rejected: int = 0
    skipped: int = 0
    reasons: dict = field(default_factory=dict)  # rejections counted by kind of problem
    rejections: list = field(default_factory=list)  # (prompt, every problem found) of each rejected question
    # Sections (or parts of them) the model wrote nothing for: {"section", "heading", "reason"} each.
    without_model: list = field(default_factory=list)


@dataclass
class Fact:
    """One sentence of a section and the term it teaches: one question is made of it, a blank or a choice."""

    term: str
    sentence: str
    section: Section
    rank: tuple
    concepts: list = field(default_factory=list)


def stable_key(*parts) -> str:
    return "gen:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def sentences(markdown_text: str) -> list[str]:
    """The section's sentences without the list and heading marks in front of them; code blocks are no prose
    to ask about ("pip ____ harbor-tok")."""
    return [s.strip(" -*#>\t") for s in textkit.sentences(FENCED_CODE.sub("\n", markdown_text))]


def is_latin(term: str) -> bool:
    return not textkit.CJK.search(term)


@functools.lru_cache(maxsize=4096)
def _normalised(text: str) -> tuple[str, tuple[int, ...]]:
    """The text normalised character by character, and for each normalised character the original's index."""
    out, where = [], []
    for index, char in enumerate(text):
        for normal in textkit.normalize(char):
            out.append(normal)
            where.append(index)
    return "".join(out), tuple(where)


def occurrences(text: str, term: str, *, whole_words: bool = True) -> list[tuple[int, int]]:
    """Where a term occurs in a text, matched as a reader would match it: ignoring case, width and
    Traditional/Simplified. An English term counts only as a whole word ("GPT" is not in "GPT3")."""
    normal, where = _normalised(text)
    target = textkit.normalize(term)
    spans, start = [], normal.find(target) if target else -1
    while start >= 0:
        end = start + len(target)
        whole = not (whole_words and is_latin(term)) or (
            not _ascii_word(normal, start - 1) and not _ascii_word(normal, end)
        )
        if whole:
            spans.append((where[start], where[end - 1] + 1))
        start = normal.find(target, end)
    return spans


def _ascii_word(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isascii() and text[index].isalnum()


def on_word_boundaries(text: str, begin: int, end: int) -> bool:
    """Whether jieba cuts the sentence at both ends of the span, so the blank takes out a whole word."""
    if len(textkit.to_simplified(text)) != len(text):
        return True
    cuts, position = {0}, 0
    for word in textkit.segments(text):
        position += len(word)
        cuts.add(position)
    return begin in cuts and end in cuts


def mask(text: str, names: list[str]) -> str:
    """The text with every occurrence of the names blanked, in whichever script or case it is written."""
    for name in sorted(names, key=len, reverse=True):
        for begin, end in reversed(occurrences(text, name)):
            text = text[:begin] + "____" + text[end:]
    return text


def capitalised_mid_sentence(word: str, text: str) -> bool:
    """The word is written with its capital after another word of the sentence: a name ("the Harbor tokenizer"),
    not any word that happens to open a sentence ("Every model…")."""
    if not ONE_CAPITAL.fullmatch(word):
        return True  # "LoRA", "RLHF", "Hugging Face" are names wherever they stand
    return bool(re.search(rf"[\w,;)]\s+{re.escape(word)}(?![\w-])", text))


def neutral_article(blanked: str) -> str:
    """ "An ____ is …" would tell which option fits: the article before a blank reads "a(n)"."""
    return re.sub(r"\b([Aa])n? ____", r"\1(n) ____", blanked)


def looks_like_term(term: str, lesson_text: str) -> bool:
    """A term worth a blank: not a pronoun, pointer or everyday word, and used again in its lesson, as real
    concepts are."""
    term = term.strip()
    if NOT_A_TERM.match(term) or textkit.to_simplified(term) in GENERIC_TERMS or term.isdigit():
        return False
    if len(term) < (2 if not is_latin(term) else 3 if term.isupper() or any(c.isdigit() for c in term) else 4):
        return False
    return len(occurrences(lesson_text, term)) >= 2


def concept_names(concept: Concept) -> list[str]:
    return [n for n in [concept.term, concept.term_zh, *concept.aliases] if n]


def lesson_terms(text: str, glossary: list[str]) -> dict[str, int]:
    """A lesson's candidate terms and how strongly each is a term: 0 glossary, 1 defined in a sentence,
    2 the field's vocabulary or an English name, 3 a key phrase by TF-IDF."""
    found: dict[str, int] = {}

    def add(term: str, rank: int) -> None:
        term = term.strip(" -")
        if looks_like_term(term, text):
            key = textkit.fold(term)
            if key and rank < found.get(key, (99, ""))[0]:
                found[key] = (rank, term)

    for name in glossary:
        add(name, 0)
    for sentence in sentences(text):
        line = plain(sentence)
        for pattern in DEFINING_PATTERNS:
            for match in pattern.finditer(line):
                add(match.group("term"), 1)
        if (bold := BOLD.search(sentence)) is not None:
            add(bold.group(1), 1)
        for match in EN_NAME.finditer(line):
            if ONE_CAPITAL.fullmatch(match.group(0)) and not capitalised_mid_sentence(match.group(0), text):
                continue
            add(match.group(0), 2)
    # The field's vocabulary in any case: "Temperature" opening a sentence is still the term.
    simplified = textkit.to_simplified(text).lower()
    for term in LLM_TERMS:
        if term.lower() in simplified:
            add(term, 2)
    for term, _weight in textkit.keyphrases(text, limit=25):
        # An English key phrase in lower case is an everyday word ("install", "paper"); names are capitalised, and
        # not only where a sentence or a heading opens ("Every", "Note").
        if not is_latin(term) or (term != term.lower() and capitalised_mid_sentence(term, text)):
            add(term, 3)
    # The key phrase comes out in Simplified Chinese; a Traditional lesson asks for its own spelling.
    return {original_spelling(term, text): rank for rank, term in found.values()}


def original_spelling(term: str, text: str) -> str:
    spans = occurrences(text, term)
    return text[spans[0][0] : spans[0][1]] if spans else term


def defines(sentence: str, begin: int, end: int) -> bool:
    return bool(
        DEFINES_AFTER.match(sentence[end : end + 16]) or DEFINES_BEFORE.search(sentence[max(0, begin - 8) : begin])
    )


def section_facts(section: Section, terms: dict[str, int], concepts: dict[str, list]) -> list[Fact]:
    """For each term the section uses, the sentence that best teaches it: a definition if there is one, one
    occurrence only (a blank must have one answer), and enough words besides the term to reason from."""
    best: dict[str, Fact] = {}
    for position, sentence in enumerate(sentences(section.text)):
        text = plain(sentence).lstrip(",，.。;；:：、•·)）] ")
        if not SENTENCE_LENGTH[0] <= len(text) <= SENTENCE_LENGTH[1] or text.startswith("|") or "http" in text:
            continue
        # A term inside a longer one the sentence uses ("上下文" in "上下文窗口") is not blanked on its own.
        used = {term: occurrences(text, term, whole_words=False) for term in terms}
        longer = [span for spans in used.values() for span in spans]
        for term, strength in terms.items():
            spans = used[term]
            if len(spans) != 1 or len(text) - len(term) < 12 or not on_word_boundaries(text, *spans[0]):
                continue
            begin, end = spans[0]
            if any(b <= begin and end <= e and (b, e) != (begin, end) for b, e in longer):
                continue
            # A definition outranks any mention; then the stronger term, then the earlier sentence.
            rank = (0 if defines(text, begin, end) else 1, strength, position)
            key = textkit.fold(term)
            if key not in best or rank < best[key].rank:
                best[key] = Fact(
                    term=text[begin:end], sentence=text, section=section, rank=rank, concepts=concepts.get(key, [])
                )
    return sorted(best.values(), key=lambda fact: fact.rank)


def distractors_for(
    fact: Fact, pool: list[tuple[str, int, str]], vectors: np.ndarray, index: dict[str, int], wanted: int = 3
) -> list[str]:
    """Other terms of the same course that could fill the blank to someone who has not read the lesson: same
    language and script, similar length (the right option must not stand out as the longest), not a part of the
    answer, and not in the sentence itself (the evidence would make them right too). Nearest in meaning first,
    the same lesson's terms before other lessons'."""
    answer = textkit.fold(fact.term)
    chosen: list[str] = []
    candidates = []
    fragments = fragments_of(tuple(term for term, _, _ in pool))
    for term, lesson_id, language in pool:
        other = textkit.fold(term)
        if (
            term in fragments
            or language != fact.section.lesson.language
            or is_latin(term) != is_latin(fact.term)
            or not other
            or other in answer
            or answer in other
            or occurrences(fact.sentence, term)
            or not similar_length(fact.term, term)
        ):
            continue
        similarity = float(vectors[index[term]] @ vectors[index[fact.term]]) if fact.term in index else 0.0
        candidates.append((lesson_id != fact.section.lesson_id, -similarity, term))
    for *_, term in sorted(candidates):
        if textkit.fold(term) not in {textkit.fold(c) for c in chosen}:
            chosen.append(term)
        if len(chosen) == wanted:
            break
    return chosen


@functools.lru_cache(maxsize=8)
def fragments_of(terms: tuple[str, ...]) -> frozenset[str]:
    """The terms that are a word of a longer one ("Prompt" of "System Prompt"): fragments, not ideas a learner
    could mistake for the answer. Worked out once per pool, not once per question."""
    names = [term.casefold() for term in terms]
    return frozenset(
        term
        for term in terms
        if any(
            name != term.casefold() and re.search(rf"(?<![\w-]){re.escape(term.casefold())}(?![\w-])", name)
            for name in names
        )
    )


def similar_length(answer: str, other: str) -> bool:
    shorter, longer = sorted((len(answer), len(other)))
    return longer - shorter <= 3 or longer <= 1.5 * shorter


def nearest(vectors: np.ndarray, index: int, k: int) -> list[int]:
    order = np.argsort(-(vectors @ vectors[index]))
    return [int(i) for i in order if i != index][:k]


def shuffled(options: list[str], key: str) -> list[str]:
    """Same key, same order: regenerating never reshuffles a question learners already know."""
    options = list(options)
    random.Random(key).shuffle(options)
    return options


def concept_drafts(*, course: Course, embedder) -> list[tuple[Section, Draft]]:
    """ "Which concept matches this definition" for each glossary concept, distractors the nearest other concepts."""
    entries = []
    for concept in Concept.objects.filter(course=course).prefetch_related("sections__lesson"):
        for language, definition, term in (
            ("en", concept.definition, concept.term),
            ("zh-hans", concept.definition_zh, concept.term_zh or concept.term),
        ):
            home = next((s for s in concept.sections.all() if s.lesson.language == language), None)
            if definition and home is not None:
                entries.append((term, definition, home, concept, language))
    drafts = []
    if len(entries) < 4:
        return drafts
    vectors = embedder.passages([f"{term}: {definition}" for term, definition, *_ in entries])
    for index, (term, definition, section, concept, language) in enumerate(entries):
        distractors = []
        for i in nearest(vectors, index, len(entries)):
            other = entries[i][0]
            if (
                entries[i][4] == language
                and other.casefold() != term.casefold()
                and other not in distractors
                and similar_length(term, other)
            ):
                distractors.append(other)
            if len(distractors) == 3:
                break
        if len(distractors) < 2:
            continue
        key = stable_key("match", course.slug, language, term)
        evidence = next((plain(s) for s in sentences(section.text) if occurrences(plain(s), term)), "")
        prompt = (
            "哪个概念符合这个定义：“{}”" if language.startswith("zh") else "Which concept matches this definition: “{}”"
        ).format(neutral_article(mask(plain(definition), concept_names(concept))))
        drafts.append(
            (
                section,
                Draft(
                    type="mcq",
                    prompt=prompt,
                    answer=term,
                    options=shuffled([term, *distractors], key),
                    evidence=evidence,
                    explanation=plain(definition),
                    concepts=[concept],
                    key=key,
                    difficulty=2,
                ),
            )
        )
    return drafts


def rule_drafts(*, course: Course, sections: list[Section], embedder) -> list[tuple[Section, Draft]]:
    """Questions from the text alone: the glossary's concepts, then one question per fact (a term and the sentence
    that teaches it), a few per section so that every part of the course is asked about. A fact becomes a blank
    or a choice, never both, since the two would be near-duplicates of each other."""
    drafts = concept_drafts(course=course, embedder=embedder)
    asked = {(d.answer and textkit.fold(d.answer), s.lesson.language) for s, d in drafts}
    concepts_by_name: dict[str, list] = {}
    glossary: list[str] = []
    for concept in Concept.objects.filter(course=course):
        for name in concept_names(concept):
            glossary.append(name)
            concepts_by_name.setdefault(textkit.fold(name), []).append(concept)
    lesson_text: dict[int, str] = {}
    for section in sections:
        lesson_text[section.lesson_id] = lesson_text.get(section.lesson_id, "") + "\n" + plain(section.text)
    terms = {lesson_id: lesson_terms(text, glossary) for lesson_id, text in lesson_text.items()}
    pool = list({(term, s.lesson_id, s.lesson.language): None for s in sections for term in terms[s.lesson_id]})
    names = list(dict.fromkeys(term for term, *_ in pool))
    vectors = embedder.passages(names)
    index = {name: i for i, name in enumerate(names)}

    candidates = {
        section.pk: section_facts(section, terms[section.lesson_id], concepts_by_name)[:CANDIDATES]
        for section in sections
    }
    every = [fact for section in sections for fact in candidates[section.pk]]
    # Embedded as the duplicate check embeds the question it becomes, so a fact chosen here is not rejected there.
    texts = [embedding_text(mask(f.sentence, [f.term]), f.term) for f in every]
    sentence_vectors = dict(zip((id(f) for f in every), embedder.passages(texts), strict=True))
    facts: list[Fact] = []
    chosen_vectors: list[np.ndarray] = []
    for section in sections:
        made = 0
        for fact in candidates[section.pk]:
            key = (textkit.fold(fact.term), section.lesson.language)
            vector = sentence_vectors[id(fact)]
            # One question per term and per sentence; a sentence that says nearly what a chosen one says would
            # only be rejected as a near-duplicate.
            # Today shows the lesson's title above its questions: a term the title names would be given away.
            if (
                made == MAX_FACTS_PER_SECTION
                or key in asked
                or occurrences(section.lesson.title, fact.term)
                or any(float(vector @ other) >= SAME_SENTENCE for other in chosen_vectors)
            ):
                continue
            asked.add(key)
            facts.append(fact)
            chosen_vectors.append(vector)
            made += 1
    for number, fact in enumerate(facts):
        section = fact.section
        blanked = neutral_article(mask(fact.sentence, [fact.term]))
        distractors = distractors_for(fact, pool, vectors, index) if number % 2 == 0 else []
        if blanked.startswith("____") and is_latin(fact.term) and fact.term[:1].isupper():
            # The answer opens the sentence with a capital: so do the others, or the case gives it away.
            distractors = [d[:1].upper() + d[1:] for d in distractors]
        key = stable_key("fact", course.slug, section.pk, fact.sentence, fact.term)
        accept = [t for t in {textkit.to_simplified(fact.term)} if t != fact.term]
        if len(distractors) >= 2:
            # The sentence alone is the stem: the options say what is asked, and a shared instruction in front
            # would make short sentences near-duplicates of each other.
            options = shuffled([fact.term, *distractors], key)
            draft = Draft(
                type="mcq",
                prompt=blanked,
                answer=fact.term,
                options=options,
                evidence=fact.sentence,
                explanation=fact.sentence,
                concepts=fact.concepts,
                key=key,
                difficulty=1,
            )
        else:
            draft = Draft(
                type="cloze",
                prompt=blanked,
                answer=fact.term,
                accept=accept,
                evidence=fact.sentence,
                explanation=fact.sentence,
                concepts=fact.concepts,
                key=key,
                difficulty=2,
            )
        drafts.append((section, draft))
    return drafts


LLM_QUESTIONS_PER_SECTION = 3
LLM_MCQ_OPTIONS = 4
LLM_ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["mcq", "cloze", "free_text"]},
        "prompt": {"type": "string", "minLength": 10},
        "options": {"type": "array", "items": {"type": "string"}, "maxItems": LLM_MCQ_OPTIONS},
        "answer": {"type": "string", "minLength": 1},
        "explanation": {"type": "string"},
        "evidence": {"type": "string"},
        "difficulty": {"type": "integer", "minimum": 1, "maximum": 3},
    },
    "required": ["type", "prompt", "options", "answer", "explanation", "evidence", "difficulty"],
    "additionalProperties": False,
}
LLM_SCHEMA = {
    "type": "object",
    "properties": {"questions": {"type": "array", "items": LLM_ITEM_SCHEMA, "maxItems": LLM_QUESTIONS_PER_SECTION}},
    "required": ["questions"],
    "additionalProperties": False,
}
# The reply is checked question by question: one malformed question is saved as rejected with its reason,
# and the others still count. The server is still sent the full schema, to constrain what it writes.
LLM_ENVELOPE = {
    "type": "object",
    "properties": {"questions": {"type": "array", "items": {"type": "object"}}},
    "required": ["questions"],
}

LLM_INSTRUCTIONS = """You write review questions for engineers learning how large language models work.
From the section below write up to 3 questions that test understanding of its key ideas: multiple choice
("mcq": 4 options of similar length and form, exactly one right, "answer" is the right option's exact text),
fill-the-blank ("cloze": the prompt contains ____ once; options empty) or short answer ("free_text": options
empty). Quote in "evidence" one sentence copied exactly from the section that supports the answer. No "NOT" or
"EXCEPT" stems, no "all/none of the above", never give the answer away in the prompt. Write in {language}."""


def llm_item_problem(item: dict) -> str:
    """Why a question the model wrote cannot be used as it stands, or "" (the verification checks follow)."""
    try:
        llm.check_schema(item, LLM_ITEM_SCHEMA, "question")
    except llm.LLMBadResponse as error:
        return f"malformed model output: {error}"
    if item["type"] == "mcq" and len(item["options"]) != LLM_MCQ_OPTIONS:
        return f"{len(item['options'])} options; a generated multiple-choice question needs {LLM_MCQ_OPTIONS}"
    return ""


def llm_draft(section: Section, item: dict) -> Draft:
    """The model's question as a draft; a malformed one keeps what can be shown and says what is wrong."""
    problem = llm_item_problem(item)

    def text(name: str) -> str:
        value = item.get(name)
        return value.strip() if isinstance(value, str) else ""

    kind = item.get("type") if item.get("type") in {"mcq", "cloze", "free_text"} else "free_text"
    options = item.get("options") if isinstance(item.get("options"), list) else []
    difficulty = item.get("difficulty")
    difficulty = min(3, max(1, difficulty)) if isinstance(difficulty, int) and not isinstance(difficulty, bool) else 2
    return Draft(
        type=kind,
        prompt=text("prompt") or "(no prompt)",
        answer=text("answer"),
        options=[str(o).strip() for o in options] if kind == "mcq" else [],
        evidence=text("evidence"),
        explanation=text("explanation"),
        difficulty=difficulty,
        problem=problem,
        key=stable_key("llm", section.pk, text("prompt"), *([problem] if problem else [])),
    )


# The smallest piece of a section worth a call: below it the model's context is too small for this prompt.
MIN_PIECE_TOKENS = 60


def _cut(sentence: str, room: int) -> list[str]:
    """A sentence longer than `room` tokens on its own (a table row, a run of code) cut in halves until each fits."""
    if count_tokens(sentence) <= room or len(sentence) < 2:
        return [sentence]
    middle = len(sentence) // 2
    space = sentence.rfind(" ", 0, middle)
    middle = space if space > 0 else middle
    return _cut(sentence[:middle].strip(), room) + _cut(sentence[middle:].strip(), room)


def section_pieces(text: str, *, room: int) -> list[str]:
    """The text as it is when it fits in `room` tokens, otherwise in pieces that do, cut between sentences and
    keeping each line's sentences together as far as they fit."""
    if count_tokens(text) <= room:
        return [text]
    pieces, current, used = [], "", 0
    for line in text.splitlines():
        starts_line = True
        for sentence in textkit.sentences(line):
            for part in _cut(sentence, room):
                size = count_tokens(part) + 1
                if current and used + size > room:
                    pieces.append(current)
                    current, used = "", 0
                current += ("\n" if starts_line else " ") + part if current else part
                used += size
                starts_line = False
    return [*pieces, current] if current else pieces


def _piece_room(section: Section, system: str, reply: int) -> int:
    """How many tokens of the section's text one call can carry beside the instructions and the reply."""
    frame = [{"role": "system", "content": system}, {"role": "user", "content": f"Section: {section.heading}\n\n"}]
    framing = count_messages(frame)
    if llm.structured_mode() != "json_schema":
        # In the other modes the schema goes into the prompt (llm.structured), with a line saying so.
        framing += count_tokens(json.dumps(LLM_SCHEMA, ensure_ascii=False)) + 40
    return llm.prompt_room(reply) - framing


def _piece_drafts(section: Section, system: str, piece: str, reply: int) -> list[Draft]:
    data = llm.structured(
        [{"role": "system", "content": system}, {"role": "user", "content": f"Section: {section.heading}\n\n{piece}"}],
        name="questions",
        schema=LLM_SCHEMA,
        check=LLM_ENVELOPE,
        max_tokens=reply,
    )
    return [llm_draft(section, item) for item in data["questions"][:LLM_QUESTIONS_PER_SECTION]]


def llm_drafts(section: Section) -> tuple[list[Draft], str]:
    """The model's questions on a section, a call per piece of it that fits the model's context, and why the model
    wrote nothing for some or all of it ("" when it did for all). A refusal for length teaches llm the real context:
    the rest is cut again to that and asked once more."""
    language = "Simplified Chinese" if section.lesson.language.startswith("zh") else "English"
    system = LLM_INSTRUCTIONS.format(language=language)
    drafts: list[Draft] = []
    pending = [section.text]
    refused_room = None
    problem = ""
    while True:
        reply = llm.reply_room(settings.LLM_QUESTION_MAX_TOKENS)
        room = _piece_room(section, system, reply)
        if room < MIN_PIECE_TOKENS:
            return drafts, (
                f"the model's context ({llm.context_tokens()} tokens) leaves no room for the section beside the "
                "instructions and the reply"
            )
        pending = section_pieces("\n".join(pending), room=room)
        try:
            while pending:
                try:
                    drafts += _piece_drafts(section, system, pending[0], reply)
                except llm.LLMBadResponse as error:
                    # One piece's unreadable reply does not cost the others theirs.
                    problem = f"the model could not write questions on part of the section: {error}"
                    logger.warning("LLM generation failed for a piece of section %s: %s", section.pk, error)
                pending.pop(0)
            return drafts, problem
        except llm.LLMContextExceeded as error:
            if refused_room is not None and room >= refused_room:
                # Cut to what the server said and still refused: nothing more to learn from asking again.
                return drafts, f"the model refused the section as too long for its context: {error}"
            refused_room = room
        except llm.LLMError as error:
            logger.warning("LLM generation failed for section %s; using the rules", section.pk, exc_info=True)
            return drafts, f"the model could not write questions: {error}"


def questions_generate(*, course: Course, use_llm: bool | None = None) -> Report:
    """Generate, verify and save questions for every section of the course. Re-running skips known questions."""
    use_llm = settings.LLM_ENABLED if use_llm is None else use_llm
    sections = list(Section.objects.filter(lesson__course=course).select_related("lesson"))
    embedder = get_embedder()
    drafts: list[tuple[Section, Draft, str]] = []
    without_model: list[dict] = []
    if use_llm:
        for section in sections:
            written, problem = llm_drafts(section)
            if problem:
                without_model.append({"section": section.pk, "heading": section.heading, "reason": problem[:300]})
            drafts += [(section, d, Question.Origin.LLM) for d in written]
            # The model's unusable questions are still saved, as rejected with their reasons; when none of them
            # passes the checks, the section gets its rule-built questions as if there were no model.
            if not any(not draft_problems(d, section_text=section.text) for d in written):
                drafts += [
                    (s, d, Question.Origin.RULE)
                    for s, d in rule_drafts(course=course, sections=[section], embedder=embedder)
                ]
        if not any(origin == Question.Origin.LLM for *_, origin in drafts):
            drafts = []
    if not drafts:
        drafts = [
            (s, d, Question.Origin.RULE) for s, d in rule_drafts(course=course, sections=sections, embedder=embedder)
        ]
    # Rule-built questions from course-wide concepts come again with each section that fell back to the rules.
    seen: set[str] = set()
    drafts = [item for item in drafts if not (item[1].key in seen or seen.add(item[1].key))]
    report = Report(without_model=without_model)
    known = set(Question.objects.filter(key__in=[d.key for _, d, _ in drafts]).values_list("key", flat=True))
    fresh = [(s, d, o) for s, d, o in drafts if d.key not in known]
    report.skipped = len(drafts) - len(fresh)
    existing = list(
        Question.objects.filter(section__lesson__course=course)
        .exclude(status=Question.Status.REJECTED)
        .values_list("id", "prompt", "answer")
    )
    existing_ids = [row[0] for row in existing]
    existing_vectors = embedder.passages([embedding_text(p, a) for _, p, a in existing])
    fresh_vectors = embedder.passages([embedding_text(d.prompt, d.answer) for _, d, _ in fresh])
    for (section, draft, origin), vector in zip(fresh, fresh_vectors, strict=True):
        problems = draft_problems(draft, section_text=section.text)
        if duplicate := check_duplicate(vector, existing_vectors, existing_ids):
            problems.append(duplicate)
        reason = "; ".join(problems)
        # Rule-built questions quote the section verbatim, so passing the checks is enough; a model's question
        # can be subtly wrong in ways no check sees, so it waits as a draft for a person to approve.
        status = (
            Question.Status.REJECTED
            if reason
            else Question.Status.APPROVED
            if origin == Question.Origin.RULE
            else Question.Status.DRAFT
        )
        with transaction.atomic():
            question = Question.objects.create(
                key=draft.key,
                type=draft.type,
                prompt=draft.prompt,
                options=draft.options,
                answer=draft.answer,
                accept=draft.accept,
                explanation=draft.explanation,
                evidence=draft.evidence,
                section=section,
                language=section.lesson.language,
                difficulty=draft.difficulty,
                origin=origin,
                status=status,
                rejection_reason=reason or "",
            )
            question.concepts.set(draft.concepts or list(section.concepts.all()))
        if reason:
            report.rejected += 1
            report.rejections.append((draft.prompt, problems))
            for kind in dict.fromkeys(problem_kind(p) for p in problems):
                report.reasons[kind] = report.reasons.get(kind, 0) + 1
        else:
            report.approved += status == Question.Status.APPROVED
            report.drafts += status == Question.Status.DRAFT
            existing_ids.append(question.pk)
            existing_vectors = (
                np.vstack([existing_vectors, vector[None, :]]) if len(existing_vectors) else vector[None, :]
            )
    GenerationRun.objects.get_or_create(course=course)
    # Only this run's outcome: the claim's fields belong to questions_generate_once.
    GenerationRun.objects.filter(course=course).update(finished_at=timezone.now(), without_model=without_model)
    return report


# Longer than the generation task may run (quizzes.tasks): a claim this old belongs to a worker that died.
CLAIM_STALE_AFTER = timedelta(seconds=1900 + 60)


def questions_generate_once(*, course: Course) -> Report | None:
    """questions_generate, unless a run for this course is already going: then that run goes once more when it
    finishes (it may have started before the newest lessons) and this one returns None without work."""
    GenerationRun.objects.get_or_create(course=course)
    while True:
        now = timezone.now()
        claimed = (
            GenerationRun.objects.filter(course=course)
            .filter(
                Q(running_since__isnull=True) | Q(running_since__lt=now - CLAIM_STALE_AFTER),
            )
            .update(running_since=now, rerun_wanted=False)
        )
        if claimed:
            break
        if GenerationRun.objects.filter(course=course, running_since__isnull=False).update(rerun_wanted=True):
            return None
        # The other run finished in between: claim again.
    try:
        while True:
            report = questions_generate(course=course)
            # Release only if nobody asked for another run meanwhile, in the same UPDATE.
            if GenerationRun.objects.filter(course=course, rerun_wanted=False).update(running_since=None):
                return report
            GenerationRun.objects.filter(course=course).update(rerun_wanted=False, running_since=timezone.now())
    except BaseException:
        GenerationRun.objects.filter(course=course).update(running_since=None)
        raise
