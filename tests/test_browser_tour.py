"""A tour of every page a visitor, a learner, a manager and staff can reach, on a phone and a desktop screen, in
English and Chinese: each answers, logs no error and no CSP violation, never scrolls sideways at 390 px, has
buttons big enough to tap, and in Chinese shows no English interface words. Screenshots go to test-artifacts/."""

import datetime as dt
import re

import pytest
from django.core import signing
from django.utils import timezone

from content.models import IngestionJob
from quizzes import services as quiz_services
from teams import services as team_services
from teams.models import Assignment, Membership, Organization, Role, Team
from tests.conftest import screenshot
from tests.quizzes.conftest import course_make, lesson_from_file
from tutor.models import Answer, Conversation

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Names a Chinese page may show in Latin letters: products, terms of art, file formats, and the keys to press.
ALLOWED_LATIN = {
    "Primer",
    "LoRA",
    "RLHF",
    "GPT",
    "LLM",
    "LLMs",
    "LLaMA",
    "FSRS",
    "SVD",
    "GB",
    "fp",
    "EN",
    "CSV",
    "csv",
    "Anki",
    "apkg",
    "PDF",
    "HTML",
    "Markdown",
    "Word",
    "docx",
    "GBK",
    "Big",
    "UTF",
    "URL",
    "Notion",
    "Confluence",
}
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
                          (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""
# The interface words to check in Chinese: navigation, headings, buttons, labels and table headers. Text the
# page marks as another language (lang="en": an English name beside its Chinese one) is content, not interface.
INTERFACE_TEXT = """() => {
  const seen = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
  const picked = document.querySelectorAll(
    "nav.mainnav a, .topbar-end button, .topbar-end a:not(.account-link), main h1, main h2, main h3, main button, " +
    "main .button, main label, main summary, main th, main legend, main .helptext, main .messages li");
  return Array.from(picked).filter(seen).filter((e) => !e.closest("[lang=en]")).map((e) => e.innerText);
}"""
SMALL_TAP_TARGETS = """() => Array.from(document.querySelectorAll(
    "nav.mainnav a, .topbar button, main button, main .button, main input[type=submit], main select"))
  .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden")
  .map((e) => [e.innerText.trim() || e.getAttribute("aria-label") || e.outerHTML.slice(0, 60),
               Math.round(e.getBoundingClientRect().height)])
  .filter(([, height]) => height < 40)"""


class Tour:
    """One signed-in browser page per persona; every visit adds what is wrong to `problems`."""

    def __init__(self, browser, base, persona, data_words=()):
        self.base, self.persona, self.language = base, persona, "en"
        self.page = browser.new_page(viewport=PHONE)
        self.page.add_init_script(WATCH)
        self.console = []
        # The browser's own favicon request is the one 404 no page causes.
        self.page.on(
            "console",
            lambda m: (
                self.console.append(m.text)
                if m.type == "error" and "favicon" not in (m.location or {}).get("url", "")
                else None
            ),
        )
        self.page.on("pageerror", lambda error: self.console.append(str(error)))
        self.data_words = set(data_words)
        self.problems = []

    def log_in(self, email, password):
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("input[name=login]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("form button[type=submit]:not([name])")
        self.page.wait_for_url("**/today/")

    def switch_to(self, language):
        if not self.page.locator("form.language-switch").count():
            self.page.goto(self.base + "/")
        self.page.click(f"button[name=language][value={language}]")
        self.page.wait_for_load_state()
        self.language = language

    def visit(self, name, path, *, status=200, lands_on=None, check_words=True, check_taps=True):
        self.page.set_viewport_size(PHONE)
        self.console.clear()
        response = self.page.goto(self.base + path)
        where = f"{self.persona} {path} ({self.language})"
        if response is None or response.status != status:
            self.problems.append(f"{where}: HTTP {response and response.status}, expected {status}")
        if lands_on and not re.search(lands_on, self.page.url):
            self.problems.append(f"{where}: landed on {self.page.url}, expected {lands_on}")
        self.page.wait_for_load_state()
        self.check(where, check_words=check_words, check_taps=check_taps, status=status)
        screenshot(self.page, f"tour-{self.persona}-{name}-phone-{self.language}")
        # The same page widened: the layout reflows without a second request.
        self.page.set_viewport_size(DESKTOP)
        screenshot(self.page, f"tour-{self.persona}-{name}-desktop-{self.language}")
        self.check(where + " desktop", check_words=False, check_taps=False)

    def check(self, where, *, check_words, check_taps, status=200):
        if status == 404:
            # The browser reports the 404 itself as a failed resource; that is the page's point.
            self.console[:] = [text for text in self.console if "status of 404" not in text]
        if self.console:
            self.problems.append(f"{where}: console errors {self.console}")
            self.console.clear()
        violations = self.page.evaluate("window.__csp || []")
        if violations:
            self.problems.append(f"{where}: CSP violations {violations}")
        self.page.evaluate("window.__csp = []")
        width = self.page.evaluate("document.documentElement.clientWidth")
        if width == PHONE["width"]:
            scroll = self.page.evaluate("document.documentElement.scrollWidth")
            if scroll > width + 1:
                self.problems.append(f"{where}: scrolls sideways on a phone ({scroll} px wide)")
            if check_taps:
                small = self.page.evaluate(SMALL_TAP_TARGETS)
                if small:
                    self.problems.append(f"{where}: too small to tap {small}")
            if check_words and self.language != "en":
                english = self.untranslated()
                if english:
                    self.problems.append(f"{where}: English in the Chinese interface {sorted(english)}")

    def untranslated(self) -> set[str]:
        words = set()
        for text in self.page.evaluate(INTERFACE_TEXT):
            text = re.sub(r"\S+@\S+", " ", text)
            words.update(
                w
                for w in re.findall(r"[A-Za-z][A-Za-z'’]+", text)
                if w not in ALLOWED_LATIN and w not in self.data_words
            )
        return words


@pytest.mark.django_db(transaction=True)
def test_every_page_works_on_a_phone_and_a_desktop_in_english_and_chinese(
    browser, live_server_process, alice, bob, carol, mallory, django_user_model
):
    base = live_server_process
    course = course_make()
    lesson = lesson_from_file(course, "10-lora-and-matrix-rank.en.md")
    lesson_zh = lesson_from_file(course, "10-lora-and-matrix-rank.zh.md")
    quiz_services.handwritten_questions_load(course=course)
    quiz_services.cards_create_for_course(user=alice, course=course, now=timezone.now())
    organization = Organization.objects.create(name="Acme", slug="acme")
    team = Team.objects.create(organization=organization, name="Acme Labs")
    for user, role in ((alice, Role.LEARNER), (bob, Role.LEARNER), (carol, Role.MANAGER)):
        Membership.objects.create(team=team, user=user, role=role)
    Assignment.objects.create(
        team=team, course=course, due_on=timezone.localdate() + dt.timedelta(days=14), created_by=carol
    )
    invitation = team_services.invitation_create(team=team, created_by=carol, max_uses=5)
    conversation = Conversation.objects.create(user=alice, title="What does LoRA train?", course=course)
    Answer.objects.create(
        conversation=conversation,
        question="What does LoRA train?",
        status="done",
        mode="offline",
        text="LoRA trains two thin matrices beside a frozen weight [1].",
        citations=[
            {
                "n": 1,
                "url": lesson.get_absolute_url(),
                "lesson": lesson.title,
                "section": "LoRA",
                "source": "10-lora-and-matrix-rank.en.md",
            }
        ],
    )
    staff = django_user_model.objects.create_user(
        username="staff@example.com",
        email="staff@example.com",
        password="pw-staff-123",
        is_staff=True,
        is_superuser=True,
    )
    job = IngestionJob.objects.create(
        course=course,
        created_by=staff,
        folder="/nonexistent",
        status="failed",
        files_total=2,
        files_done=1,
        error="One file could not be read.",
        report={
            "files": [
                {
                    "name": "a-very-long-file-name-for-the-upload-report-table.md",
                    "status": "ingested",
                    "sections": 4,
                    "chunks": 9,
                },
                {"name": "broken.pdf", "status": "failed", "reason": "not a PDF", "sections": 0, "chunks": 0},
            ],
            "lessons": 1,
            "sections": 4,
            "chunks": 9,
            "seconds": 2.5,
        },
    )
    unsubscribe = signing.dumps(alice.pk, salt=quiz_services.UNSUBSCRIBE_SALT)
    data_words = {
        "Acme",
        "Labs",
        "alice",
        "bob",
        "carol",
        "mallory",
        "staff",
        "example",
        "com",
        "llm",
        "basics",
        "lora",
        "and",
        "matrix",
        "rank",
        "broken",
        "a",
        "very",
        "long",
        "file",
        "name",
        "for",
        "the",
        "upload",
        "report",
        "table",
    }
    tours = []

    visitor = Tour(browser, base, "visitor", data_words)
    tours.append(visitor)
    for language in ("en", "zh-hans"):
        visitor.page.goto(f"{base}/accounts/login/")
        if language != "en":
            visitor.switch_to(language)
        visitor.visit("home", "/", lands_on=r"/accounts/login/")
        visitor.visit("login", "/accounts/login/")
        visitor.visit("signup", "/accounts/signup/")
        visitor.visit("password-reset", "/accounts/password/reset/")
        visitor.visit("today-signed-out", "/today/", lands_on=r"/accounts/login/\?next=/today/")
        visitor.visit("join", invitation.get_absolute_url())
        visitor.visit("unsubscribe", f"/reminders/unsubscribe/{unsubscribe}/")

    learner = Tour(browser, base, "alice", data_words)
    tours.append(learner)
    learner.log_in(alice.email, "pw-alice-123")
    for language in ("en", "zh-hans"):
        learner.switch_to(language)
        learner.visit("today", "/today/")
        learner.visit("today-lesson", f"/today/?lesson={lesson.id}")
        learner.visit("courses", "/courses/")
        learner.visit("course", course.get_absolute_url())
        # Lesson text is content in the lesson's own language; the chrome around it is checked on the other pages.
        in_language = lesson if language == "en" else lesson_zh
        learner.visit("lesson", in_language.get_absolute_url(), check_words=False)
        learner.visit("glossary", "/glossary/", check_words=False)
        learner.visit("tutor", "/tutor/")
        learner.visit("conversation", conversation.get_absolute_url())
        learner.visit("progress", "/progress/")
        learner.visit("cards", "/cards/", check_words=False)
        learner.visit("team", "/team/")
        learner.visit("not-her-dashboard", f"/team/{team.id}/", status=404, check_words=False, check_taps=False)
        learner.visit("profile", "/accounts/profile/")
        learner.visit("password-change", "/accounts/password/change/")
        learner.visit("email", "/accounts/email/", check_words=False)
        learner.visit("logout-confirm", "/accounts/logout/")
        learner.visit("join-signed-in", invitation.get_absolute_url())

    outsider = Tour(browser, base, "mallory", data_words)
    tours.append(outsider)
    outsider.log_in(mallory.email, "pw-mallory-123")
    for language in ("en", "zh-hans"):
        outsider.switch_to(language)
        outsider.visit("team-none", "/team/")

    manager = Tour(browser, base, "carol", data_words)
    tours.append(manager)
    manager.log_in(carol.email, "pw-carol-123")
    for language in ("en", "zh-hans"):
        manager.switch_to(language)
        manager.visit("team", "/team/")
        manager.visit("dashboard", f"/team/{team.id}/")
        manager.visit("people", f"/team/{team.id}/people/")
        manager.visit("assignments", f"/team/{team.id}/assignments/")

    admin = Tour(browser, base, "staff", data_words)
    tours.append(admin)
    admin.log_in(staff.email, "pw-staff-123")
    for language in ("en", "zh-hans"):
        admin.switch_to(language)
        admin.visit("upload", "/courses/upload/")
        admin.visit("upload-job", f"/courses/upload/{job.id}/")
        # Django's admin has its own look and its own translations; it must still work under the policy.
        admin.visit("admin", "/admin/", check_words=False, check_taps=False)
        admin.visit("admin-questions", "/admin/quizzes/question/", check_words=False, check_taps=False)

    # Uploading takes a while: the plain form carries its progress indicator, shown on submit (primer.js).
    admin.page.goto(f"{base}/courses/upload/")
    assert admin.page.locator("form.upload-form[data-busy] .htmx-indicator .spinner").count() == 1

    # So does starting the course, which creates a card for every question: bob has none yet.
    starter = Tour(browser, base, "bob", data_words)
    starter.log_in(bob.email, "pw-bob-123")
    starter.switch_to("zh-hans")
    starter.visit("today-start", "/today/")
    held = []
    starter.page.route("**/today/start/", lambda route: held.append(route))
    starter.page.click(".start-button", no_wait_after=True)
    starter.page.locator("#start-progress").wait_for(state="visible")
    assert "正在准备你的卡片" in starter.page.inner_text("#start-progress")
    held[0].continue_()
    starter.page.wait_for_selector("#question")
    tours.append(starter)

    problems = [problem for tour in tours for problem in tour.problems]
    assert problems == [], "\n".join(problems)
