from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from content.models import Lesson
from quizzes.verification import problem_text

from . import selectors, services
from .forms import AskForm, FeedbackForm
from .models import Conversation


def _page(
    request,
    *,
    conversation: Conversation | None,
    form: AskForm,
    lesson: Lesson | None = None,
    missed: dict | None = None,
    status: int = 200,
):
    conversations = selectors.conversations_of(user=request.user).only("id", "title", "updated_at")[:30]
    answers = list(conversation.answers.select_related("feedback")) if conversation else []
    return render(
        request,
        "tutor/tutor.html",
        {
            "conversation": conversation,
            "conversations": conversations,
            "answers": answers,
            "form": form,
            "lesson": lesson,
            "missed": missed,
        },
        status=status,
    )


@login_required
def tutor(request):
    lesson = (
        Lesson.objects.filter(id=request.GET.get("lesson")).first() if request.GET.get("lesson", "").isdigit() else None
    )
    question_id = request.GET.get("question", "")
    missed = selectors.missed_question_for_user(
        user=request.user, question_id=question_id, wrong_answer=request.GET.get("answer", "")
    )
    initial = {"lesson": lesson.id if lesson else None}
    if missed:
        initial.update(
            missed_question=missed["id"],
            missed_answer=missed["answer"],
            socratic=True,
            question=_("Why is my answer wrong?"),
        )
    return _page(request, conversation=None, form=AskForm(initial=initial), lesson=lesson, missed=missed)


@login_required
def conversation(request, conversation_id: int):
    item = selectors.conversation_for_user(user=request.user, conversation_id=conversation_id)
    form = AskForm(initial={"conversation": item.id, "socratic": item.socratic})
    return _page(request, conversation=item, form=form, lesson=item.lesson, missed=item.missed or None)


@login_required
@require_POST
def conversation_delete(request, conversation_id: int):
    item = selectors.conversation_for_user(user=request.user, conversation_id=conversation_id)
    services.conversation_delete(conversation=item)
    if request.htmx:
        response = HttpResponse()
        response["HX-Redirect"] = "/tutor/"
        return response
    return redirect("tutor")


@login_required
@require_POST
def ask(request):
    form = AskForm(request.POST)
    # Checked only for a valid question: the check counts it against the learner's minute.
    refusal = services.check_can_ask(user=request.user) if form.is_valid() else None
    if not form.is_valid() or refusal:
        if request.htmx:
            message = refusal or _("Please write a question.")
            # htmx swaps only 2xx responses; the notice is the answer to this request.
            return render(request, "tutor/tutor.html#notice", {"message": message})
        return _page(request, conversation=None, form=form, status=429 if refusal else 400)
    data = form.cleaned_data
    item = None
    if data["conversation"]:
        item = selectors.conversation_for_user(user=request.user, conversation_id=data["conversation"])
        if item.socratic != data["socratic"]:
            item.socratic = data["socratic"]
            item.save(update_fields=["socratic"])
    else:
        lesson = Lesson.objects.filter(id=data["lesson"]).select_related("course").first() if data["lesson"] else None
        item = services.conversation_start(
            user=request.user,
            question=data["question"],
            course=lesson.course if lesson else None,
            lesson=lesson,
            socratic=data["socratic"],
            missed=selectors.missed_question_for_user(
                user=request.user, question_id=data["missed_question"], wrong_answer=data["missed_answer"]
            ),
        )
    answer = services.answer_create(conversation=item, question=data["question"])
    if request.htmx:
        return render(request, "tutor/tutor.html#pending", {"answer": answer, "conversation": item, "oob": True})
    # Without JavaScript there is no stream: answer now, then show the conversation.
    services.answer_complete(answer)
    return redirect(item)


@login_required
async def answer_stream(request, answer_id: int):
    user = await request.auser()
    answer = await selectors.answers_of(user=user).filter(id=answer_id).only("id").afirst()
    if answer is None:
        raise Http404
    # An async iterator: the ASGI server sends each event as it is produced (a sync one would be buffered).
    response = StreamingHttpResponse(
        services.answer_events(answer.id, language=translation.get_language()), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
@require_POST
def reveal(request, answer_id: int):
    hint = selectors.answer_for_user(user=request.user, answer_id=answer_id)
    refusal = services.check_can_ask(user=request.user)
    if refusal:
        return render(request, "tutor/tutor.html#notice", {"message": refusal})
    answer = services.answer_create(conversation=hint.conversation, question=hint.question, reveal=True)
    if request.htmx:
        return render(request, "tutor/tutor.html#pending", {"answer": answer, "conversation": hint.conversation})
    services.answer_complete(answer)
    return redirect(hint.conversation)


@login_required
@require_POST
def feedback(request, answer_id: int):
    answer = selectors.answer_for_user(user=request.user, answer_id=answer_id)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        services.feedback_record(
            answer=answer, helpful=form.cleaned_data["helpful"], comment=form.cleaned_data["comment"]
        )
        answer.refresh_from_db()
    if request.htmx:
        return render(request, "tutor/tutor.html#feedback", {"answer": answer})
    return redirect(answer.conversation)


@login_required
@require_POST
def card(request, answer_id: int):
    answer = selectors.answer_for_user(user=request.user, answer_id=answer_id)
    question = services.card_from_answer(user=request.user, answer=answer)
    if question.status == question.Status.APPROVED:
        message = _("Added to your deck: it comes up in your reviews from today.")
    else:
        message = _("Not added: %(reason)s.") % {"reason": problem_text(question.rejection_reason)}
    if request.htmx:
        return render(request, "tutor/tutor.html#notice", {"message": message})
    return redirect(answer.conversation)
