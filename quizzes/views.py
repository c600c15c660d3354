import uuid
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from content.models import Course, Lesson

from . import charts, exports, grading, scheduling, selectors, services
from .forms import (
    FEEDBACK_SALT,
    AnswerForm,
    CardEditForm,
    CourseStartForm,
    LessonStartForm,
    MyCardsForm,
    RateForm,
    ReviewSettingsForm,
    SessionForm,
)
from .models import Card, ReviewLog

SHIPPED_COURSE = "llm-basics"
# Longer than this and the learner walked away: the time says nothing about recall.
MAX_DURATION_MS = 10 * 60 * 1000


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
    """"Quiz me on this lesson": cards for the lesson's questions, then the session focused on them."""
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
    review_settings = services.review_settings_for(user=request.user)
    feedback = feedback_for(card=card, form=form, review_settings=review_settings, now=timezone.now())
    # The feedback step shows only the answered card; the queue is worked out after the rating. Without
    # JavaScript it is the full page: there is nothing to redirect to, and re-sending it writes nothing.
    context = {"lesson_id": lesson_id, "feedback": feedback, "card": card}
    return render(request, "quizzes/today.html" + ("#session" if request.htmx else ""), context)


@login_required
@require_POST
def today_rate(request):
    """Record the rating. The signed token carries an idempotency key, so a double click counts once."""
    form = RateForm(request.POST)
    if not form.is_valid():
        return step_done(request, lesson_id=form.cleaned_data.get("lesson"))
    answered = form.cleaned_data["token"]
    card = selectors.card_for_user(user=request.user, card_id=answered["card"])
    review_settings = services.review_settings_for(user=request.user)
    services.review_record(
        card=card, rating=form.cleaned_data["rating"], answered_at=timezone.now(), duration_ms=answered["ms"],
        answer=answered["answer"], correct=answered["correct"], idempotency_key=answered["key"],
        review_settings=review_settings,
    )
    return step_done(request, lesson_id=form.cleaned_data["lesson"], review_settings=review_settings)


@login_required
@require_POST
def today_undo(request):
    form = SessionForm(request.POST)
    lesson_id = form.cleaned_data["lesson"] if form.is_valid() else None
    card = services.review_undo(user=request.user, now=timezone.now())
    return step_done(request, lesson_id=lesson_id, card=card)


def step_done(request, *, lesson_id: int | None, card: Card | None = None, review_settings=None):
    """After a POST: the next step of the session for htmx; post/redirect/get without JavaScript, so a reload
    never re-sends the form."""
    if not request.htmx:
        return redirect(today_url(lesson_id))
    return session_response(request, lesson_id=lesson_id, card=card, review_settings=review_settings)


def session_response(request, *, lesson_id: int | None, card: Card | None = None, review_settings=None):
    """The session (the page, or the #session partial for htmx) showing `card`, or else the next one due."""
    now = timezone.now()
    review_settings = review_settings or services.review_settings_for(user=request.user)
    session = selectors.session_next(user=request.user, review_settings=review_settings, now=now, lesson_id=lesson_id)
    context = {
        "lesson_id": lesson_id, "feedback": None, "card": card or session.card, "session": session,
        "shown_at": now_ms(now), "can_undo": session.reviewed_today + session.new_today > 0,
        "ratings": ReviewLog.Rating.choices,
    }
    if context["card"] is None and not session.due_count and not session.new_count:
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
    if question.type == question.Type.MCQ:
        choice = form.cleaned_data.get("choice")
        answer = question.options[choice] if choice is not None and choice < len(question.options) else ""
    else:
        answer = form.cleaned_data.get("answer", "")
    result = grading.grade(question=question, answer=answer)
    duration_ms = min(max(now_ms(now) - form.cleaned_data["shown_at"], 0), MAX_DURATION_MS)
    proposed = scheduling.rating_propose(correct=result.correct, duration_ms=duration_ms, question_type=question.type)
    intervals = scheduling.interval_previews(card=card, scheduler=scheduling.scheduler_for(review_settings), now=now)
    token = signing.dumps(
        {"card": card.pk, "answer": answer, "correct": result.correct, "ms": duration_ms, "key": uuid.uuid4().hex},
        salt=FEEDBACK_SALT,
    )
    return {
        "answer": answer,
        "grade": result,
        "proposed": proposed,
        "buttons": [
            {"rating": value, "label": label, "interval": scheduling.interval_label(intervals[value]),
             "proposed": value == proposed}
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
    mastery = [{"term": concept.term_in(language), "value": value, "percent": round(value * 100)}
               for concept, value in stats["mastery"]]
    return render(request, "quizzes/progress.html", {"stats": stats, "charts": bar_charts, "mastery": mastery,
                                                      "form": form})


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
