"""Reads for teams. Every function that returns people's data takes the viewer and narrows to what they may see."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from content.models import Concept, Course, Lesson, LessonRead
from quizzes import selectors as quiz_selectors

from .models import Assignment, Invitation, Membership, Organization, Role, Team

MANAGING_ROLES = (Role.MANAGER, Role.ADMIN)
# Reviews counted for true retention: the last 30 days, as Anki's "true retention" does by default.
RETENTION_WINDOW_DAYS = 30
# Streaks are counted back at most a year, which keeps the review-log scan bounded for long-time learners.
STREAK_WINDOW_DAYS = 366
# How far behind the even pace through an assignment a learner may fall before they count as at risk.
PACE_SLACK = 0.1


def organizations_administered_by(*, user) -> QuerySet[Organization]:
    return Organization.objects.filter(teams__memberships__user=user, teams__memberships__role=Role.ADMIN).distinct()


def teams_managed_by(*, user) -> QuerySet[Team]:
    """Teams whose aggregates the user may see: those they manage, and every team of an organization they administer."""
    if not user.is_authenticated:
        return Team.objects.none()
    admin_orgs = Membership.objects.filter(user=user, role=Role.ADMIN).values("team__organization_id")
    managed = Membership.objects.filter(user=user, role__in=MANAGING_ROLES).values("team_id")
    return Team.objects.filter(Q(id__in=managed) | Q(organization_id__in=admin_orgs)).select_related("organization")


def team_managed_by(*, user, team_id: int) -> Team:
    """Raises Team.DoesNotExist for a team the user does not manage, so views answer 404 and leak nothing."""
    return teams_managed_by(user=user).get(pk=team_id)


def memberships_of(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team__organization").order_by("team__name")


def can_invite_role(*, user, team: Team, role: str) -> bool:
    """Managers bring in learners; only an organization's admins hand out manager or admin roles."""
    if role == Role.LEARNER:
        return teams_managed_by(user=user).filter(pk=team.pk).exists()
    return organizations_administered_by(user=user).filter(pk=team.organization_id).exists()


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user__profile").order_by("role", "user__email")


def team_invitations_open(*, team: Team) -> QuerySet[Invitation]:
    now = timezone.now()
    return team.invitations.filter(revoked_at__isnull=True, expires_at__gt=now, uses__lt=F("max_uses"))


def invitation_by_token(*, token: str) -> Invitation:
    """A usable invitation, or Invitation.DoesNotExist: an expired, used-up or revoked one looks like no invitation."""
    return Invitation.objects.select_related("team__organization").get(
        token=token, revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
    )


def team_assignments(*, team: Team) -> QuerySet[Assignment]:
    return team.assignments.select_related("course", "learner__profile").order_by("due_on", "id")


@dataclass
class LearnerAssignment:
    assignment: Assignment
    course: Course
    team: Team
    due_on: dt.date
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)

    @property
    def url(self) -> str:
        # The course page belongs to the content app; until it exists the course list is the way in.
        try:
            return self.course.get_absolute_url()
        except NoReverseMatch:
            return reverse("courses")


def assignments_for_learner(*, user, today: dt.date | None = None) -> list[LearnerAssignment]:
    """The courses the learner is expected to finish, soonest first: their team's and their own, never anyone else's."""
    if not user.is_authenticated:
        return []
    today = today or timezone.localdate()
    assignments = (
        Assignment.objects.filter(team__memberships__user=user)
        .filter(Q(learner__isnull=True) | Q(learner=user))
        .select_related("course", "team")
        .order_by("due_on", "id")
        .distinct()
    )
    return [
        LearnerAssignment(
            assignment=a, course=a.course, team=a.team, due_on=a.due_on, days_left=(a.due_on - today).days
        )
        for a in assignments
    ]


def team_courses(*, team: Team) -> list[Course]:
    """The courses a team has been assigned, in order of their nearest due date."""
    seen: dict[int, Course] = {}
    for assignment in team_assignments(team=team):
        seen.setdefault(assignment.course_id, assignment.course)
    return list(seen.values())


@dataclass
class LearnerRow:
    user_id: int
    name: str
    email: str
    lessons_read: int = 0
    lessons_total: int = 0
    cards_total: int = 0
    cards_learned: int = 0
    reviews_7d: int = 0
    retention: float | None = None
    retention_reviews: int = 0
    streak: int = 0
    overdue: int = 0
    due_on: dt.date | None = None
    assigned_on: dt.date | None = None
    status: str = "none"
    # Concept id → mean retrievability of the answered cards; None: cards but none answered yet (not started).
    # Only the concepts the dashboard was asked to detail (team_dashboard's detail_lessons).
    mastery: dict[int, float | None] = field(default_factory=dict)
    # Lesson order → mean over the lesson's started concepts; None: cards on the lesson, none answered yet.
    lesson_mastery: dict[int, float | None] = field(default_factory=dict)

    @property
    def progress(self) -> float:
        parts = []
        if self.lessons_total:
            parts.append(min(1.0, self.lessons_read / self.lessons_total))
        if self.cards_total:
            parts.append(self.cards_learned / self.cards_total)
        return sum(parts) / len(parts) if parts else 0.0


@dataclass
class LessonColumn:
    """A lesson of the course and the concepts it is the first to ask about, for the heatmap's grouping."""

    order: int
    slug: str
    title: str
    concepts: list[Concept] = field(default_factory=list)


# A heatmap cell's value: a mean retrievability, NOT_STARTED (cards, none answered) or None (no cards).
NOT_STARTED = "not_started"


@dataclass
class Dashboard:
    team: Team
    course: Course | None
    courses: list[Course]
    rows: list[LearnerRow]
    concepts: list[Concept]
    today: dt.date
    lessons: list[LessonColumn] = field(default_factory=list)

    def cells(self, row: LearnerRow) -> list[tuple[Concept, float | str | None]]:
        return [(concept, concept_cell(row, concept.id)) for concept in self.concepts]

    def lesson_cell(self, row: LearnerRow, lesson: LessonColumn) -> float | str | None:
        """The mean over the lesson's concepts the learner has started; not started if they hold cards on none."""
        if lesson.order not in row.lesson_mastery:
            return None
        value = row.lesson_mastery[lesson.order]
        return NOT_STARTED if value is None else value


def concept_cell(row: LearnerRow, concept_id: int) -> float | str | None:
    if concept_id not in row.mastery:
        return None
    value = row.mastery[concept_id]
    return NOT_STARTED if value is None else value


def _lesson_columns(lessons: list[tuple[int, str, str, str]], concepts: list[Concept], language: str):
    """One column per lesson in course order, titled in the viewer's language (English when it has no other)."""
    titles: dict[int, tuple[str, str]] = {}
    for order, slug, lesson_language, title in lessons:
        if order not in titles or lesson_language == language:
            titles[order] = (slug, title)
    columns = {
        order: LessonColumn(order=order, slug=slug, title=title) for order, (slug, title) in sorted(titles.items())
    }
    for concept in concepts:
        column = columns.get(getattr(concept, "lesson_order", None))
        if column is not None:
            column.concepts.append(concept)
    return [column for column in columns.values() if column.concepts]


def _pace_status(row: LearnerRow, today: dt.date) -> str:
    """on track / at risk against an even pace from the day the course was assigned to its due date."""
    if row.due_on is None:
        return "none"
    progress = row.progress
    if progress >= 0.999:
        return "done"
    if today > row.due_on:
        return "overdue"
    span = max(1, (row.due_on - row.assigned_on).days)
    expected = min(1.0, max(0.0, (today - row.assigned_on).days / span))
    return "on_track" if progress + PACE_SLACK >= expected else "at_risk"


def team_dashboard(
    *,
    team: Team,
    course: Course | None = None,
    now: dt.datetime | None = None,
    language: str = "en",
    detail_lessons: set[str] | None = None,
) -> Dashboard:
    """Per-learner progress and the concept mastery heatmap for one team, in a fixed number of queries.

    Every lesson's cell comes with the dashboard; the concepts one by one only for the lessons named in
    detail_lessons (by slug), or for all of them when it is None (the CSV export).

    The caller has already checked that the viewer manages the team (team_managed_by). Only aggregates
    leave this function: counts, rates and mean retrievability, never an answer or a conversation.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    courses = team_courses(team=team)
    if course is None and courses:
        course = courses[0]
    course_id = course.id if course else None

    learners = list(
        Membership.objects.filter(team=team, role=Role.LEARNER).select_related("user__profile").order_by("user__email")
    )
    rows = {m.user_id: LearnerRow(user_id=m.user_id, name=m.user.profile.name, email=m.user.email) for m in learners}
    user_ids = list(rows)
    concepts: list[Concept] = []
    lessons: list[tuple[int, str, str, str]] = []
    if course is not None:
        concepts = quiz_selectors.concepts_with_questions(course_id=course.id)
        lessons = list(Lesson.objects.filter(course=course).values_list("order", "slug", "language", "title"))
    columns = _lesson_columns(lessons, concepts, language)
    if not user_ids:
        return Dashboard(
            team=team, course=course, courses=courses, rows=[], concepts=concepts, today=today, lessons=columns
        )

    if course is not None:
        # Each team-wide or personal assignment of this course gives the learner a due date: the earliest wins.
        for assignment in team.assignments.filter(course=course).order_by("-due_on"):
            targets = [assignment.learner_id] if assignment.learner_id else user_ids
            for user_id in targets:
                if user_id in rows:
                    rows[user_id].due_on = assignment.due_on
                    rows[user_id].assigned_on = timezone.localdate(assignment.created_at)

        lessons_total = len({slug for _order, slug, _language, _title in lessons})
        reads = LessonRead.objects.filter(course=course, user_id__in=user_ids).values("user_id").annotate(n=Count("id"))
        for read in reads:
            rows[read["user_id"]].lessons_read = read["n"]
        for row in rows.values():
            row.lessons_total = lessons_total
    else:
        reads = LessonRead.objects.filter(user_id__in=user_ids).values("user_id").annotate(n=Count("id"))
        for read in reads:
            rows[read["user_id"]].lessons_read = read["n"]

    counts = quiz_selectors.card_counts_for_users(user_ids=user_ids, course_id=course_id, now=now)
    for user_id, card_counts in counts.items():
        row = rows[user_id]
        row.cards_total, row.cards_learned, row.overdue = card_counts.total, card_counts.learned, card_counts.overdue

    # Reviews this week and true retention count the course's cards; the streak is any day with a review,
    # in the learner's own time zone.
    zones = {m.user_id: m.user.profile.timezone for m in learners}
    activity = quiz_selectors.review_activity_for_users(
        user_zones=zones,
        course_id=course_id,
        now=now,
        recent_since=now - dt.timedelta(days=7),
        retention_since=now - dt.timedelta(days=RETENTION_WINDOW_DAYS),
        history_since=now - dt.timedelta(days=STREAK_WINDOW_DAYS),
    )
    for user_id, row in rows.items():
        learner = activity[user_id]
        row.reviews_7d = learner.recent
        row.retention_reviews = learner.mature
        row.retention = learner.retention
        row.streak = learner.streak

    if concepts:
        detail = None
        if detail_lessons is not None:
            detail = [c.id for column in columns if column.slug in detail_lessons for c in column.concepts]
        mastery = quiz_selectors.retrievability_for_users(
            user_ids=user_ids,
            course_id=course_id,
            now=now,
            concept_lessons={c.id: column.order for column in columns for c in column.concepts},
            detail=detail,
        )
        for user_id, by_concept in mastery.concepts.items():
            rows[user_id].mastery = by_concept
        for user_id, by_lesson in mastery.lessons.items():
            rows[user_id].lesson_mastery = by_lesson

    for row in rows.values():
        row.status = _pace_status(row, today)
    return Dashboard(
        team=team,
        course=course,
        courses=courses,
        rows=list(rows.values()),
        concepts=concepts,
        today=today,
        lessons=columns,
    )
