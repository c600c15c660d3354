from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .forms import UploadForm
from .models import Course, IngestionJob
from .rendering import highlight_concepts, markdown_to_html


@login_required
def course_list(request):
    return render(
        request,
        "content/course_list.html",
        {
            "progress": selectors.courses_with_progress(request.user),
            "language": selectors.language_of(request),
        },
    )


@login_required
def course_detail(request, slug: str):
    course = get_object_or_404(Course, slug=slug)
    language = selectors.language_of(request)
    return render(
        request,
        "content/course_detail.html",
        {
            "course": course,
            "language": language,
            "lessons": selectors.lessons_in_language(course, language),
            "read": selectors.read_slugs(request.user, course),
        },
    )


@login_required
def lesson_detail(request, course_slug: str, lesson_slug: str):
    course = get_object_or_404(Course, slug=course_slug)
    language = request.GET.get("lang") or selectors.language_of(request)
    lesson = selectors.lesson_for(course, lesson_slug, language)
    if lesson is None:
        raise Http404("No such lesson")
    concepts = selectors.lesson_concepts(lesson)
    forms = []
    for concept in concepts:
        definition = concept.definition_in(lesson.language)
        forms.extend((form, definition) for form in [concept.term_in(lesson.language), concept.term, *concept.aliases])
    sections = [
        {"section": s, "html": highlight_concepts(markdown_to_html(s.body, diagram_url=_diagram_url(course)), forms)}
        for s in selectors.lesson_sections(lesson)
    ]
    lessons = selectors.lessons_in_language(course, lesson.language)
    position = next((i for i, each in enumerate(lessons) if each.slug == lesson.slug), 0)
    return render(
        request,
        "content/lesson_detail.html",
        {
            "course": course,
            "lesson": lesson,
            "sections": sections,
            "concepts": concepts,
            "lesson_languages": selectors.lesson_languages(course, lesson.slug),
            "is_read": lesson.slug in selectors.read_slugs(request.user, course),
            "previous": lessons[position - 1] if position > 0 else None,
            "next": lessons[position + 1] if position + 1 < len(lessons) else None,
        },
    )


def _diagram_url(course: Course):
    def url(name: str) -> str | None:
        path = selectors.diagram_file(course.slug, name)
        # The file's change time in the address: the long browser cache never shows an outdated diagram.
        return f"{reverse('course_diagram', args=[course.slug, name])}?v={path.stat().st_mtime_ns:x}" if path else None

    return url


@login_required
@require_GET
def diagram(request, course_slug: str, name: str):
    path = selectors.diagram_file(course_slug, name)
    if path is None:
        raise Http404("No such diagram")
    response = FileResponse(path.open("rb"), content_type="image/svg+xml")
    # An SVG opened on its own is a document: no scripts, no fetches, only its own inline styles.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


@login_required
@require_POST
def lesson_read(request, course_slug: str, lesson_slug: str):
    course = get_object_or_404(Course, slug=course_slug)
    lesson = selectors.lesson_for(course, lesson_slug, selectors.language_of(request))
    if lesson is None:
        raise Http404("No such lesson")
    services.lesson_mark_read(user=request.user, lesson=lesson)
    if not request.htmx:
        return redirect(lesson.get_absolute_url())
    return render(
        request, "content/lesson_detail.html#read-button", {"course": course, "lesson": lesson, "is_read": True}
    )


@login_required
def glossary(request):
    language = selectors.language_of(request)
    concepts = sorted(selectors.glossary(), key=lambda c: c.term_in(language).lower())
    for concept in concepts:
        sections = list(concept.sections.all())
        concept.taught_in = next(
            (s for s in sections if s.lesson.language[:2] == language[:2]), sections[0] if sections else None
        )
    return render(request, "content/glossary.html", {"concepts": concepts, "language": language})


@staff_member_required
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        course = form.cleaned_data["course"] or services.course_get_or_create(
            slug=form.cleaned_data["new_course_slug"], title=form.cleaned_data["new_course_title"]
        )
        job = services.ingestion_job_create(course=course, user=request.user, files=form.cleaned_data["files"])
        return redirect("content_upload_job", job_id=job.id)
    return render(
        request, "content/upload.html", {"form": form, "jobs": IngestionJob.objects.select_related("course")[:10]}
    )


@staff_member_required
def upload_job(request, job_id: int):
    job = get_object_or_404(IngestionJob.objects.select_related("course"), id=job_id)
    template = "content/upload_job.html#job-status" if request.htmx else "content/upload_job.html"
    return render(request, template, {"job": job})


@staff_member_required
@require_POST
def upload_job_retry(request, job_id: int):
    job = get_object_or_404(IngestionJob, id=job_id)
    retry = services.ingestion_job_retry(job=job, user=request.user)
    return redirect("content_upload_job", job_id=(retry or job).id)
