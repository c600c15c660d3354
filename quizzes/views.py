import secrets
import uuid
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from content.models import Course, Lesson

from . import charts, exports, grading, scheduling, selectors, services
from .forms import (
    FEEDBACK_SALT,
    SHOWING_SALT,
    AnswerForm,
    CardEditForm,
    CourseStartForm,
    ExtendForm,
    LessonStartForm,
    MyCardsForm,
    RateForm,
    ReviewSettingsForm,
    SessionForm,
)
from .models import Card, ReviewLog, ReviewSettings

SHIPPED_COURSE = "llm-basics"
# Longer than this and the learner walked away: the time says nothing about recall.
MAX_DURATION_MS = 10 * 60 * 1000
# "Study more today" raises the limit that stopped the session by this many cards.
EXTEND_REVIEWS = 20
EXTEND_NEW = 10


def now_ms(now) -> int:
    return int(now.timestamp() * 1000)


def today_url(lesson_id: int | None) -> str:
    return reverse("today") + (f"?lesson={lesson_id}" if lesson_id else "")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def today(request):
    """The review session: question → feedback → rating → next question, each step one htmx swap of #session.

    GET only shows the session; `?lesson=ID` narrows it to that lesson's cards. Every change is a POST below.
    """
    value = request.GET.get("lesson", "")
    return session_response(request, lesson_id=int(value) if value.isdigit() else None)


@login_required
@require_POST
def today_start(request):
    """The empty state's "Start" button: cards for a whole course."""
    form = CourseStartForm(request.POST)
    if form.is_valid():
        services.cards_create_for_course(user=request.user, course=form.cleaned_data["course"], now=timezone.now())
    return step_done(request, lesson_id=None)


@login_required
@require_POST
def today_lesson_start(request):
    """ "Quiz me on this lesson": cards for the lesson's questions, then the session focused on them."""
    form = LessonStartForm(request.POST)
    if not form.is_valid():
        raise Http404
    lesson = form.cleaned_data["lesson"]
    services.cards_create_for_lesson(user=request.user, lesson=lesson, now=timezone.now())
    return redirect(today_url(lesson.pk))


@login_required
@require_POST
def today_answer(request):
    """Grade the answer and show feedback with the rating buttons; nothing is written until the rating."""
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return step_done(request, lesson_id=form.cleaned_data.get("lesson"))
    lesson_id = form.cleaned_data["lesson"]
    card = selectors.card_for_user(user=request.user, card_id=form.cleaned_data["card"])
    try:
        review_settings = card.user.review_settings
    except ReviewSettings.DoesNotExist:
        review_settings = services.review_settings_for(user=request.user)
    feedback = feedback_for(card=card, form=form, review_settings=review_settings, now=timezone.now())
    # The feedback step shows only the answered card; the queue is worked out after the rating. Without
    # JavaScript it is the full page: there is nothing to redirect to, and re-sending it writes nothing.
    context = {"lesson_id": lesson_id, "feedback": feedback, "card": card}
    return render(request, "quizzes/today.html" + ("#session" if request.htmx else ""), context)


@login_required
@require_POST
def today_rate(request):
    """Record the rating: the token carries the card as shown and the four outcomes its buttons promised.

    The same token twice (a double click) counts once; a card rated meanwhile in another tab is not rated again.
    """
    form = RateForm(request.POST)
    if not form.is_valid():
        return step_done(request, lesson_id=form.cleaned_data.get("lesson"))
    answered = form.cleaned_data["token"]
    rating = form.cleaned_data["rating"]
    card = services.card_as_shown(card_id=answered["card"], user_id=request.user.pk, snapshot=answered["before"])
    lesson_id = form.cleaned_data["lesson"]
    try:
        log, session = services.review_record_and_next(
            card=card,
            rating=rating,
            answered_at=datetime.fromisoformat(answered["at"]),
            duration_ms=answered["ms"],
            answer=answered["answer"],
            correct=answered["correct"],
            idempotency_key=answered["key"],
            outcome=answered["outcomes"][str(rating)],
            now=timezone.now(),
            lesson_id=lesson_id,
        )
    except Card.DoesNotExist as error:
        raise Http404 from error
    notice = _("This card was already answered in another tab.") if log is None else None
    if not request.htmx:
        return step_done(request, lesson_id=lesson_id, notice=notice)
    return session_response(request, lesson_id=lesson_id, notice=notice, session=session)


@login_required
@require_POST
def today_undo(request):
    form = SessionForm(request.POST)
    lesson_id = form.cleaned_data["lesson"] if form.is_valid() else None
    card = services.review_undo(user=request.user, now=timezone.now())
    return step_done(request, lesson_id=lesson_id, card=card)


@login_required
@require_POST
def today_extend(request):
    """ "Study more today": raise the limit that stopped the session, for the rest of the learner's day."""
    form = ExtendForm(request.POST)
    if form.is_valid():
        # More new cards need room under the review limit too, which caps new cards as well.
        more_new = EXTEND_NEW if form.cleaned_data["limit"] == "new" else 0
        services.review_limits_extend(
            user=request.user, reviews=more_new or EXTEND_REVIEWS, new=more_new, now=timezone.now()
        )
    return step_done(request, lesson_id=form.cleaned_data.get("lesson") if form.is_valid() else None)


def step_done(request, *, lesson_id: int | None, card: Card | None = None, notice: str | None = None):
    """After a POST: the next step of the session for htmx; post/redirect/get without JavaScript, so a reload
    never re-sends the form."""
    if not request.htmx:
        if notice:
            messages.warning(request, notice)
        return redirect(today_url(lesson_id))
    return session_response(request, lesson_id=lesson_id, card=card, notice=notice)


def session_response(
    request,
    *,
    lesson_id: int | None,
    card: Card | None = None,
    notice: str | None = None,
    session: selectors.Session | None = None,
):
    """The session (the page, or the #session partial for htmx) showing `card`, or else the next one due."""
    now = timezone.now()
    session = session or selectors.session_next(user=request.user, now=now, lesson_id=lesson_id)
    card = card or session.card
    context = {
        "lesson_id": lesson_id,
        "feedback": None,
        "card": card,
        "session": session,
        "notice": notice,
        "shown_at": now_ms(now),
        "can_undo": session.can_undo,
        "ratings": ReviewLog.Rating.choices,
        "extend": {"reviews": EXTEND_REVIEWS, "new": EXTEND_NEW},
    }
    if card is not None:
        # A fresh seed per showing: the options come in a new order each time, fixed for this showing only.
        seed = secrets.randbits(31)
        context["showing"] = signing.dumps({"card": card.pk, "at": now_ms(now), "seed": seed}, salt=SHOWING_SALT)
        if card.question.type == card.question.Type.MCQ:
            options = card.question.options
            context["options"] = [options[i] for i in scheduling.options_order(count=len(options), seed=seed)]
    elif not session.due_count and not session.new_count and not session.stopped_by:
        context["has_cards"] = Card.objects.filter(user=request.user).exists()
        if lesson_id and not Card.objects.filter(user=request.user, question__section__lesson_id=lesson_id).exists():
            # A bookmarked `?lesson=` with no cards yet: offer the POST that creates them.
            context["lesson"] = Lesson.objects.filter(pk=lesson_id).first()
        course = Course.objects.filter(slug=SHIPPED_COURSE).first() or Course.objects.first()
        context["shipped_course"] = course
        context["shipped_course_title"] = course.title_in(request.LANGUAGE_CODE) if course else ""
    template = "quizzes/today.html#session" if request.htmx else "quizzes/today.html"
    return render(request, template, context)


def feedback_for(*, card: Card, form: AnswerForm, review_settings, now) -> dict:
    question = card.question
    showing = form.cleaned_data.get("showing")
    seed = showing["seed"] if showing else None
    if question.type == question.Type.MCQ:
        # The learner picked a position in the order they were shown; grade the option at that position.
        order = scheduling.options_order(count=len(question.options), seed=seed)
        choice = form.cleaned_data.get("choice")
        answer = question.options[order[choice]] if choice is not None and choice < len(order) else ""
    else:
        answer = form.cleaned_data.get("answer", "")
    result = grading.grade(question=question, answer=answer)
    shown_at = showing["at"] if showing else form.cleaned_data["shown_at"]
    duration_ms = min(max(now_ms(now) - shown_at, 0), MAX_DURATION_MS)
    proposed = scheduling.rating_propose(correct=result.correct)
    outcomes = services.review_outcomes(
        card=card,
        review_settings=review_settings,
        now=now,
        seed=None if seed is None else seed ^ services.outcome_seed(card),
    )
    token = signing.dumps(
        {
            "card": card.pk,
            "answer": answer,
            "correct": result.correct,
            "ms": duration_ms,
            "key": uuid.uuid4().hex,
            "at": now.isoformat(),
            "before": services.card_snapshot(card),
            "outcomes": outcomes,
        },
        salt=FEEDBACK_SALT,
        compress=True,
    )
    return {
        "answer": answer,
        "grade": result,
        "proposed": proposed,
        "buttons": [
            {
                "rating": value,
                "label": label,
                "proposed": value == proposed,
                "interval": scheduling.interval_label(datetime.fromisoformat(outcomes[value]["due"]) - now),
            }
            for value, label in ReviewLog.Rating.choices
        ],
        "token": token,
        "tutor_url": reverse("tutor") + "?" + urlencode({"question": question.pk, "answer": answer}),
        "duration_s": round(duration_ms / 1000),
    }


@login_required
@require_http_methods(["GET", "POST"])
def progress(request):
    now = timezone.now()
    review_settings = services.review_settings_for(user=request.user)
    form = ReviewSettingsForm(request.POST or None, instance=review_settings)
    if request.method == "POST" and form.is_valid():
        services.review_settings_update(user=request.user, **form.cleaned_data)
        return redirect("progress")
    stats = selectors.progress_for(user=request.user, review_settings=review_settings, now=now)
    bar_charts = {
        "reviews": charts.bar_chart(stats["reviews_per_day"]),
        "forecast": charts.bar_chart(stats["forecast"]),
    }
    language = request.LANGUAGE_CODE
    mastery = [
        {"term": concept.term_in(language), "value": value, "percent": round(value * 100)}
        for concept, value in stats["mastery"]
    ]
    return render(
        request, "quizzes/progress.html", {"stats": stats, "charts": bar_charts, "mastery": mastery, "form": form}
    )


@login_required
def export_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="primer-cards.csv"'
    exports.cards_csv(user=request.user, out=response)
    return response


@login_required
def export_apkg(request):
    data = exports.cards_apkg(user=request.user)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = 'attachment; filename="primer-cards.apkg"'
    return response


# Mail clients' one-click unsubscribe (RFC 8058) POSTs without a CSRF token; the signed token is the credential.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def reminders_unsubscribe(request, token: str):
    """No login: the link in the email is the credential, and it can only turn reminders off."""
    try:
        user_id = signing.loads(token, salt=services.UNSUBSCRIBE_SALT)
    except signing.BadSignature as error:
        raise Http404 from error
    if request.method == "POST":
        services.reminders_disable(user_id=user_id)
        return render(request, "quizzes/unsubscribed.html", {"done": True})
    return render(request, "quizzes/unsubscribed.html", {"done": False, "token": token})


MY_CARDS_PAGE = 50


@login_required
@require_GET
@vary_on_headers("HX-Request")
def my_cards(request):
    """The learner's cards: search, the suspended and the leeches, and per card suspend, reset and edit."""
    form = MyCardsForm(request.GET or None)
    search, show = "", "all"
    if form.is_valid():
        search, show = form.cleaned_data["q"], form.cleaned_data["show"] or "all"
    cards = selectors.my_cards(user=request.user, search=search, show=show)
    page = Paginator(cards, MY_CARDS_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "search": search, "show": show, "now": timezone.now()}
    return render(request, "quizzes/my_cards.html" + ("#list" if request.htmx else ""), context)


@login_required
@require_http_methods(["GET", "POST"])
def my_card_action(request, card_id: int, action: str):
    """One card's htmx action; answers with the card's row (or its edit form). Without JavaScript, back to the list."""
    card = selectors.card_for_user(user=request.user, card_id=card_id)
    editing = False
    if action == "edit" and request.method == "GET":
        editing = True
    elif request.method != "POST":
        raise Http404
    elif action in ("suspend", "unsuspend"):
        card = services.card_suspend(card=card, suspended=action == "suspend")
    elif action == "reset":
        card = services.card_reset(card=card, now=timezone.now())
    elif action == "edit":
        edit = CardEditForm(request.POST)
        if edit.is_valid():
            card = services.card_edit(card=card, **edit.cleaned_data)
    else:
        raise Http404
    if not request.htmx:
        return redirect("my_cards")
    card = selectors.card_for_user(user=request.user, card_id=card.pk)
    return render(request, "quizzes/my_cards.html#row", {"card": card, "editing": editing, "now": timezone.now()})
