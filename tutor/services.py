"""Writes for the tutor: conversations, answers (computed offline or by the model), feedback, cards."""

import asyncio
import html
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_redis import get_redis_connection
from redis.exceptions import RedisError

import llm
from llm.tokens import count_messages, count_tokens

from . import answering, selectors
from .models import UNCITED_REASON, Answer, Conversation, Feedback

logger = logging.getLogger(__name__)


def conversation_start(
    *, user, question: str, course=None, lesson=None, socratic: bool = False, missed: dict | None = None
) -> Conversation:
    return Conversation.objects.create(
        user=user, title=question.strip()[:120], course=course, lesson=lesson, socratic=socratic, missed=missed or {}
    )


def conversation_delete(*, conversation: Conversation) -> None:
    conversation.delete()


def _minute_slot_taken(*, user, now) -> bool | None:
    """Take one of the learner's questions for this minute, atomically: True when one was free, False when not.

    A Redis INCR on a per-learner, per-minute key, so twenty questions sent at once cannot all pass a count
    taken before any of them is saved. None when Redis cannot be reached: the caller falls back to counting.
    """
    key = cache.make_key(f"tutor:asked:{user.pk}:{int(now.timestamp() // 60)}")
    try:
        client = get_redis_connection("default")
        with client.pipeline() as pipe:
            count, _expiry = pipe.incr(key).expire(key, 120).execute()
    except (RedisError, OSError) as error:
        logger.warning("tutor rate limit: Redis unavailable (%s); counting this minute's answers instead", error)
        return None
    return count <= settings.TUTOR_QUESTIONS_PER_MINUTE


def check_can_ask(*, user) -> str | None:
    """None when the learner may ask now (a question is then counted); otherwise the friendly reason they may not."""
    now = timezone.now()
    answers = Answer.objects.filter(conversation__user=user)
    used = answers.filter(created_at__gte=now - timedelta(days=1)).aggregate(total=Sum("tokens"))["total"] or 0
    if used >= settings.TUTOR_DAILY_TOKEN_BUDGET:
        return _(
            "You have used today's tutor allowance. It renews within a day; the lessons and quizzes are always open."
        )
    slot = _minute_slot_taken(user=user, now=now)
    if slot is None:
        # Redis down: fail open to the database count (not atomic, but bounded), never to an error page.
        slot = answers.filter(created_at__gte=now - timedelta(minutes=1)).count() < settings.TUTOR_QUESTIONS_PER_MINUTE
    if not slot:
        return _(
            "You are asking faster than the tutor can keep up. Take a minute with the answers so far, then ask again."
        )
    return None


def answer_create(*, conversation: Conversation, question: str, reveal: bool = False) -> Answer:
    answer = Answer.objects.create(
        conversation=conversation,
        question=question.strip(),
        reveal=reveal,
        language=answering.answer_language(question, _reader_language(conversation.user)),
    )
    Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now())
    return answer


def _reader_language(user) -> str:
    profile = getattr(user, "profile", None)
    return getattr(profile, "language", None) or "en"


def _history(answer: Answer) -> list[tuple[str, str]]:
    earlier = answer.conversation.answers.filter(
        status=Answer.Status.DONE, created_at__lt=answer.created_at, not_in_course=False
    ).order_by("-created_at")[:3]
    return [(a.question, a.text) for a in reversed(earlier)]


def _context(answer: Answer, history: list[tuple[str, str]], *, query: str | None = None) -> answering.Prepared:
    """Retrieval for an answer: everything up to building the prompt."""
    conversation = answer.conversation
    question = answer.question
    if conversation.lesson_id and not history:
        # Opened from a lesson: its title steers retrieval towards it for the first question.
        question_for_search = f"{question} ({conversation.lesson.title})"
        query = query or question_for_search
    # A conversation opened from a lesson searches that lesson's course; otherwise only the learner's courses.
    course = conversation.course or selectors.searchable_course_ids(user=conversation.user)
    return answering.prepare(
        question,
        reader_language=_reader_language(conversation.user),
        course=course,
        previous_questions=[q for q, _ in history],
        query=query,
    )


def _fitted(
    answer: Answer, prepared: answering.Prepared, history: list[tuple[str, str]]
) -> tuple[answering.Prepared, list[dict], int]:
    """The prompt fitted to the model's context (llm.context_tokens): the passages it keeps, the messages, and the
    reply's room."""
    conversation = answer.conversation
    reply = llm.reply_room(settings.LLM_ANSWER_MAX_TOKENS)
    asked, messages = answering.fit_messages(
        prepared,
        room=llm.prompt_room(reply),
        history=history,
        socratic=conversation.socratic,
        reveal=answer.reveal,
        missed=conversation.missed or None,
    )
    if len(asked.passages) < len(prepared.passages):
        logger.info(
            "tutor keeps %s of %s passages to fit the model's context", len(asked.passages), len(prepared.passages)
        )
    return asked, messages, reply


def _offline_text(prepared: answering.Prepared, answer: Answer) -> str:
    socratic = answer.conversation.socratic and not answer.reveal
    with translation.override(prepared.language):
        return answering.offline_answer(prepared, socratic=socratic)


def _save(
    answer: Answer, prepared: answering.Prepared, *, text: str, mode: str, fallback_reason: str = "", tokens: int = 0
) -> Answer:
    if not prepared.relevant:
        finished = answering.Finished(text="", citations=[])
    else:
        finished = answering.finish(text, prepared)
    answer.query = prepared.query
    answer.language = prepared.language
    answer.text = finished.text
    answer.citations = finished.citations
    answer.mode = mode
    answer.not_in_course = not prepared.relevant
    answer.closest_lessons = prepared.closest_lessons
    answer.fallback_reason = fallback_reason[:200]
    answer.tokens = tokens
    answer.status = Answer.Status.DONE
    answer.answered_at = timezone.now()
    answer.save(
        update_fields=[
            "query",
            "language",
            "text",
            "citations",
            "mode",
            "not_in_course",
            "closest_lessons",
            "fallback_reason",
            "tokens",
            "status",
            "answered_at",
        ]
    )
    return answer


async def answer_steps(answer: Answer) -> AsyncIterator[tuple[str, Any]]:
    """The tutor's one pipeline: rewrite a follow-up, retrieve, ask the model (or answer offline), fall back when
    the model fails or runs out of time, validate citations and save.

    Yields `("passages", passages)` before the model writes, `("text", piece)` for each piece of its text, and
    `("done", answer)` with the saved Answer, last. Both calling styles use it: the SSE stream renders the pieces
    as they come, `answer_complete` waits for the Answer.
    """
    query = None
    history = await sync_to_async(_history)(answer)
    if history and llm.llm_enabled():
        try:
            query = (await llm.achat(answering.rewrite_messages(answer.question, history), max_tokens=60)).strip()
        except llm.LLMError:
            query = None
    prepared = await sync_to_async(_context)(answer, history, query=query)
    if not prepared.relevant:
        yield "done", await sync_to_async(_save)(answer, prepared, text="", mode=Answer.Mode.OFFLINE)
        return
    fallback_reason = ""
    tokens = 0  # a set-aside answer still counts towards the learner's daily allowance
    if llm.llm_enabled():
        pieces = []
        # The model sees only the passages that fit its context, and may cite only those; the offline answer, if
        # it comes to that, still reads them all.
        asked, messages, reply = await sync_to_async(_fitted)(answer, prepared, history)
        yield "passages", asked.passages
        for attempt in range(2):
            try:
                async for piece in llm.astream_chat(messages, max_tokens=reply):
                    pieces.append(piece)
                    yield "text", piece
            except llm.LLMContextExceeded as error:
                if attempt == 0 and not pieces:
                    # The server said its real context (llm remembered it): fit the prompt to that and ask again.
                    asked, messages, reply = await sync_to_async(_fitted)(answer, asked, history)
                    yield "passages", asked.passages
                    continue
                logger.warning("tutor falls back to the offline answer: %s", error)
                fallback_reason = str(error)
            except llm.LLMError as error:
                logger.warning("tutor falls back to the offline answer: %s", error)
                fallback_reason = str(error)
            else:
                text = "".join(pieces)
                tokens = count_messages(messages) + count_tokens(text)
                # An answer that cites no given passage may say anything (a small model invents freely): the
                # learner gets the course's own sentences instead, with a notice saying why.
                if answering.finish(text, asked).citations:
                    yield (
                        "done",
                        await sync_to_async(_save)(answer, asked, text=text, mode=Answer.Mode.LLM, tokens=tokens),
                    )
                    return
                logger.warning("tutor sets aside the model's answer, which cites no passage: %r", text[:200])
                fallback_reason = UNCITED_REASON
            break
    text = await sync_to_async(_offline_text)(prepared, answer)
    yield (
        "done",
        await sync_to_async(_save)(
            answer, prepared, text=text, mode=Answer.Mode.OFFLINE, fallback_reason=fallback_reason, tokens=tokens
        ),
    )


async def _answer_finished(answer: Answer) -> Answer:
    async for kind, value in answer_steps(answer):
        if kind == "done":
            return value
    raise AssertionError("answer_steps always ends with the saved answer")


def answer_complete(answer: Answer) -> Answer:
    """Answer synchronously (management command, pages without JavaScript): the stream's pipeline, waited for.

    Its database work runs back on the calling thread (async_to_sync), so it sees the caller's transaction.
    """
    return async_to_sync(_answer_finished)(answer)


# Streaming, for the ASGI server. Each event is a server-sent event whose data is HTML for htmx's SSE extension.


def sse(event: str, data: str) -> str:
    lines = data.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


class CitationStream:
    """Turns streamed text into HTML pieces, holding back a possible citation until it is complete,
    so `[7]` with no passage 7 is dropped before the learner ever sees it."""

    def __init__(self, passages: list[answering.Passage]):
        self.urls = {p.number: p.hit.url for p in passages}
        self.pending = ""

    def _render(self, text: str) -> str:
        out, last = [], 0
        for match in answering.CITATION.finditer(text):
            out.append(html.escape(text[last : match.start()]))
            for number in answering.re.split(r"\s*[,，、]\s*", match.group(1)):
                if int(number) in self.urls:
                    out.append(f'<a class="cite" href="{html.escape(self.urls[int(number)])}">[{int(number)}]</a>')
            last = match.end()
        out.append(html.escape(text[last:]))
        return "".join(out)

    def feed(self, piece: str) -> str:
        text = self.pending + piece
        opening = max(text.rfind("["), text.rfind("【"))
        if opening != -1 and not any(c in text[opening:] for c in "]】") and len(text) - opening < 12:
            self.pending, text = text[opening:], text[:opening]
        else:
            self.pending = ""
        return self._render(text)

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return self._render(text)


def render_answer(answer: Answer, *, language: str) -> str:
    with translation.override(language):
        return render_to_string("tutor/tutor.html#answer", {"answer": answer, "conversation": answer.conversation})


@sync_to_async
def _claim(answer_id: int) -> bool:
    # Claim with a conditional UPDATE: EventSource reconnects, and a second tab must not answer twice.
    return Answer.objects.filter(id=answer_id, status=Answer.Status.PENDING).update(status=Answer.Status.STREAMING) == 1


@sync_to_async
def _load(answer_id: int) -> Answer:
    return Answer.objects.select_related(
        "conversation__user__profile", "conversation__lesson", "conversation__course", "feedback"
    ).get(id=answer_id)


async def answer_events(answer_id: int, *, language: str) -> AsyncIterator[str]:
    """The answer as server-sent events: `token` events with HTML to append, then `done` with the final answer."""
    if not await _claim(answer_id):
        # Already answered (or being answered by another connection): wait for it, then show it.
        for _attempt in range(int(settings.LLM_TIMEOUT_SECONDS * 4) + 40):
            answer = await _load(answer_id)
            if answer.status == Answer.Status.DONE:
                break
            await asyncio.sleep(0.25)
        yield sse("done", await sync_to_async(render_answer)(answer, language=language))
        return
    answer = await _load(answer_id)
    # A comment line first: the browser (and any proxy) sees the stream open before retrieval is done.
    yield ": answering\n\n"
    stream = None
    async for kind, value in answer_steps(answer):
        if kind == "passages":
            stream = CitationStream(value)
        elif kind == "text" and (rendered := stream.feed(value)):
            yield sse("token", rendered)
        elif kind == "done":
            answer = value
    yield sse("done", await sync_to_async(render_answer)(answer, language=language))


def answer_as_json(answer: Answer) -> dict:
    return {
        "answer": answer.text if not answer.not_in_course else answering.not_in_course_text(None),
        "mode": answer.mode,
        "citations": [{key: c[key] for key in ("source", "lesson", "section", "url")} for c in answer.citations],
        "closest_lessons": answer.closest_lessons,
        "fallback_reason": answer.fallback_reason,
    }


def feedback_record(*, answer: Answer, helpful: bool, comment: str = "") -> Feedback:
    feedback, _created = Feedback.objects.update_or_create(
        answer=answer, defaults={"helpful": helpful, "comment": comment.strip()}
    )
    return feedback


def card_from_answer(*, user, answer: Answer):
    """A question in the learner's own deck, made by the quizzes app (which verifies it like generated ones)."""
    from quizzes.services import question_create_from_tutor_answer

    first = answer.citations[0] if answer.citations else {}
    return question_create_from_tutor_answer(
        user=user,
        question=answer.question,
        answer=answer.text,
        language=answer.language,
        section_id=_section_id(first.get("chunk_id")),
    )


def _section_id(chunk_id: int | None) -> int | None:
    if not chunk_id:
        return None
    from content.models import Chunk

    return Chunk.objects.filter(id=chunk_id).values_list("section_id", flat=True).first()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
