from django.core.management.base import BaseCommand, CommandError

from content.models import Course
from quizzes.selectors import questions_check


class Command(BaseCommand):
    help = "Run the question checks over a course's questions, hand-written ones included, and list what fails."

    def add_arguments(self, parser):
        parser.add_argument("--course", required=True, help="the course's slug")

    def handle(self, *args, course, **options):
        try:
            found = Course.objects.get(slug=course)
        except Course.DoesNotExist as error:
            raise CommandError(f"no course with the slug {course!r}") from error
        results = questions_check(course=found)
        failing = [(question, problems) for question, problems in results if problems]
        self.stdout.write(f"checked {len(results)} questions: {len(results) - len(failing)} pass, {len(failing)} fail")
        for question, problems in failing:
            self.stdout.write(f"#{question.pk} [{question.get_origin_display()}] {question.prompt[:80]}")
            for problem in problems:
                self.stdout.write(f"  - {problem}")
