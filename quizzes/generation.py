"""Question generation for a course: one LLM call per section when a model is configured, rules otherwise.

Rules (offline): "which concept matches this definition" from the course's concepts, and cloze questions from
defining sentences ("**X** is …", "X 是指 …"), with distractors among the nearest other concepts by embedding.
Every draft goes through verification; failures are saved as rejected with their reason.
"""

import hashlib
import logging
import random
import re
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction

from content.embeddings import get_embedder
from content.models import Concept, Course, Section

from .models import Question
from .verification import Draft, check_duplicate, embedding_text, plain, verify

logger = logging.getLogger(__name__)

MAX_CLOZE_PER_SECTION = 3
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")
BOLD = re.compile(r"\*\*([^*]{2,60})\*\*")
EN_DEFINING = re.compile(r"\b(is|are|means|refers to|describes|is called)\b")
ZH_DEFINING = re.compile(
    r"^(?:[^，,：:]{0,12}[，,：:])?\s*(?P<term>[\u4e00-\u9fffA-Za-z0-9\-]{2,12}?)"
    r"(?:是指|指的是|是一种|是一個|是一个|是一類|是一类|是一種|就是|被称为|被稱為|叫做|即是|是用来|是用於|是用于)"
)


@dataclass
class Report:
    approved: int = 0
    drafts: int = 0
    rejected: int = 0
    skipped: int = 0
    reasons: dict = field(default_factory=dict)


def stable_key(*parts) -> str:
    return "gen:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def sentences(text: str) -> list[str]:
    return [s.strip(" -*#>\t") for s in SENTENCE_END.split(text or "") if s and s.strip()]


# A defining sentence's subject is often a pronoun or a pointer ("这个图", "我们"), which is no term to learn.
NOT_A_TERM = re.compile(r"^(这|那|我|你|他|她|它|此|该|其|下面|上面|上图|如下|比如|例如|有|所以|因为|但|而|也|就|都|实际上|意思|"
                        r"本文|笔者|大家|如果|the |this |that |it |we |you |they )", re.IGNORECASE)


def looks_like_term(term: str, section_text: str) -> bool:
    """A term worth a blank: not a pronoun or pointer, and used again in its lesson, as real concepts are."""
    return not NOT_A_TERM.match(term) and section_text.count(term) >= 2


def is_chinese(text: str) -> bool:
    return len(re.findall(r"[\u4e00-\u9fff]", text)) > len(text) / 5


def concept_names(concept: Concept) -> list[str]:
    return [n for n in [concept.term, concept.term_zh, *concept.aliases] if n]


def mask(text: str, names: list[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(re.escape(name), "____", text, flags=re.IGNORECASE)
    return text


def nearest(vectors: np.ndarray, index: int, k: int) -> list[int]:
    order = np.argsort(-(vectors @ vectors[index]))
    return [int(i) for i in order if i != index][:k]


def shuffled(options: list[str], key: str) -> list[str]:
    """Same key, same order: regenerating never reshuffles a question learners already know."""
    options = list(options)
    random.Random(key).shuffle(options)
    return options


def rule_drafts(*, course: Course, sections: list[Section], embedder) -> list[tuple[Section, Draft]]:
    drafts: list[tuple[Section, Draft]] = []
    # Terms come from the course's concepts and from defining sentences; distractors are the nearest other terms.
    terms: dict[str, tuple[str, str, Section, list, str]] = {}
    for concept in Concept.objects.filter(course=course).prefetch_related("sections"):
        for language, definition, term in (("en", concept.definition, concept.term),
                                           ("zh-hans", concept.definition_zh, concept.term_zh or concept.term)):
            home = next((s for s in concept.sections.all() if s.lesson.language == language), None)
            if definition and home is not None:
                terms[f"{language}:{term.casefold()}"] = (term, definition, home, [concept], language)
    cloze: list[tuple[Section, Draft]] = []
    lesson_text: dict[int, str] = {}
    for section in sections:
        lesson_text[section.lesson_id] = lesson_text.get(section.lesson_id, "") + plain(section.body)
    for section in sections:
        language = section.lesson.language
        made = 0
        for sentence in sentences(section.body):
            if made >= MAX_CLOZE_PER_SECTION or not 20 <= len(sentence) <= 220 or sentence.startswith("|"):
                continue
            term = None
            bold = BOLD.search(sentence)
            if bold and (EN_DEFINING.search(sentence[bold.end():bold.end() + 30]) or is_chinese(sentence)):
                term = bold.group(1).strip()
            elif (match := ZH_DEFINING.search(plain(sentence))) is not None:
                term = match.group("term").strip()
            if not term or not looks_like_term(term, lesson_text[section.lesson_id]):
                continue
            text = plain(sentence)
            prompt = mask(text, [term])
            key = stable_key("cloze", course.slug, section.pk, text)
            cloze.append((section, Draft(type="cloze", prompt=prompt, answer=term, evidence=text, key=key,
                                         explanation=text, difficulty=1)))
            terms.setdefault(f"{language}:{term.casefold()}", (term, text, section, [], language))
            made += 1
    drafts += cloze

    entries = list(terms.values())
    if len(entries) >= 4:
        vectors = embedder.passages([f"{term}: {definition}" for term, definition, *_ in entries])
        for index, (term, definition, section, concepts, language) in enumerate(entries):
            same_language = [i for i in nearest(vectors, index, len(entries)) if entries[i][4] == language]
            distractors = []
            for i in same_language:
                other = entries[i][0]
                if other.casefold() != term.casefold() and other not in distractors:
                    distractors.append(other)
                if len(distractors) == 3:
                    break
            if len(distractors) < 2:
                continue
            key = stable_key("match", course.slug, language, term)
            definition_shown = mask(plain(definition), [term, *(n for c in concepts for n in concept_names(c))])
            evidence = next((plain(s) for s in sentences(section.body) if term.casefold() in plain(s).casefold()), "")
            prompt = ("哪个概念符合这个定义：“{}”" if language.startswith("zh") else
                      "Which concept matches this definition: “{}”").format(definition_shown)
            drafts.append((section, Draft(
                type="mcq", prompt=prompt, answer=term, options=shuffled([term, *distractors], key),
                evidence=evidence, explanation=plain(definition), concepts=concepts, key=key, difficulty=2,
            )))
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
LLM_ENVELOPE = {"type": "object", "properties": {"questions": {"type": "array", "items": {"type": "object"}}},
                "required": ["questions"]}

LLM_INSTRUCTIONS = """You write review questions for engineers learning how large language models work.
From the section below write up to 3 questions that test understanding of its key ideas: multiple choice
("mcq": 4 options of similar length and form, exactly one right, "answer" is the right option's exact text),
fill-the-blank ("cloze": the prompt contains ____ once; options empty) or short answer ("free_text": options
empty). Quote in "evidence" one sentence copied exactly from the section that supports the answer. No "NOT" or
"EXCEPT" stems, no "all/none of the above", never give the answer away in the prompt. Write in {language}."""


def llm_item_problem(item: dict) -> str:
    """Why a question the model wrote cannot be used as it stands, or "" (the verification checks follow)."""
    from tutor.llm import LLMBadResponse, check_schema

    try:
        check_schema(item, LLM_ITEM_SCHEMA, "question")
    except LLMBadResponse as error:
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
        type=kind, prompt=text("prompt") or "(no prompt)", answer=text("answer"),
        options=[str(o).strip() for o in options] if kind == "mcq" else [], evidence=text("evidence"),
        explanation=text("explanation"), difficulty=difficulty, problem=problem,
        key=stable_key("llm", section.pk, text("prompt"), *([problem] if problem else [])),
    )


def llm_drafts(section: Section) -> list[Draft]:
    from tutor import llm

    language = "Simplified Chinese" if section.lesson.language.startswith("zh") else "English"
    data = llm.structured(
        [{"role": "system", "content": LLM_INSTRUCTIONS.format(language=language)},
         {"role": "user", "content": f"Section: {section.heading}\n\n{section.body}"}],
        name="questions", schema=LLM_SCHEMA, check=LLM_ENVELOPE, max_tokens=settings.LLM_QUESTION_MAX_TOKENS,
    )
    return [llm_draft(section, item) for item in data["questions"][:LLM_QUESTIONS_PER_SECTION]]


def questions_generate(*, course: Course, use_llm: bool | None = None) -> Report:
    """Generate, verify and save questions for every section of the course. Re-running skips known questions."""
    from tutor.llm import LLMError

    use_llm = settings.LLM_ENABLED if use_llm is None else use_llm
    sections = list(Section.objects.filter(lesson__course=course).select_related("lesson"))
    embedder = get_embedder()
    drafts: list[tuple[Section, Draft, str]] = []
    if use_llm:
        for section in sections:
            try:
                written = llm_drafts(section)
            except LLMError:
                logger.warning("LLM generation failed for section %s; using the rules", section.pk, exc_info=True)
                written = []
            drafts += [(section, d, Question.Origin.LLM) for d in written]
            # The model's unusable questions are still saved, as rejected with their reasons; when none of them
            # passes the checks, the section gets its rule-built questions as if there were no model.
            if not any(verify(d, section_text=section.body) is None for d in written):
                drafts += [(s, d, Question.Origin.RULE)
                           for s, d in rule_drafts(course=course, sections=[section], embedder=embedder)]
        if not any(origin == Question.Origin.LLM for *_, origin in drafts):
            drafts = []
    if not drafts:
        drafts = [(s, d, Question.Origin.RULE) for s, d in rule_drafts(course=course, sections=sections,
                                                                        embedder=embedder)]
    # Rule-built questions from course-wide concepts come again with each section that fell back to the rules.
    seen: set[str] = set()
    drafts = [item for item in drafts if not (item[1].key in seen or seen.add(item[1].key))]
    report = Report()
    known = set(Question.objects.filter(key__in=[d.key for _, d, _ in drafts]).values_list("key", flat=True))
    fresh = [(s, d, o) for s, d, o in drafts if d.key not in known]
    report.skipped = len(drafts) - len(fresh)
    existing = list(Question.objects.filter(section__lesson__course=course)
                    .exclude(status=Question.Status.REJECTED).values_list("id", "prompt", "answer"))
    existing_ids = [row[0] for row in existing]
    existing_vectors = embedder.passages([embedding_text(p, a) for _, p, a in existing])
    fresh_vectors = embedder.passages([embedding_text(d.prompt, d.answer) for _, d, _ in fresh])
    for (section, draft, origin), vector in zip(fresh, fresh_vectors, strict=True):
        reason = verify(draft, section_text=section.body) or check_duplicate(vector, existing_vectors, existing_ids)
        # Rule-built questions quote the section verbatim, so passing the checks is enough; a model's question
        # can be subtly wrong in ways no check sees, so it waits as a draft for a person to approve.
        status = (Question.Status.REJECTED if reason else
                  Question.Status.APPROVED if origin == Question.Origin.RULE else Question.Status.DRAFT)
        with transaction.atomic():
            question = Question.objects.create(
                key=draft.key, type=draft.type, prompt=draft.prompt, options=draft.options, answer=draft.answer,
                accept=draft.accept, explanation=draft.explanation, evidence=draft.evidence, section=section,
                language=section.lesson.language, difficulty=draft.difficulty, origin=origin, status=status,
                rejection_reason=reason or "",
            )
            question.concepts.set(draft.concepts or list(section.concepts.all()))
        if reason:
            report.rejected += 1
            report.reasons[reason.split(" (")[0].split("#")[0].strip()] = report.reasons.get(
                reason.split(" (")[0].split("#")[0].strip(), 0) + 1
        else:
            report.approved += status == Question.Status.APPROVED
            report.drafts += status == Question.Status.DRAFT
            existing_ids.append(question.pk)
            existing_vectors = np.vstack([existing_vectors, vector[None, :]]) if len(existing_vectors) else vector[None, :]
    return report
