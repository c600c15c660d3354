from django.core.management.base import BaseCommand, CommandError

from content.models import Course
from quizzes.generation import questions_generate


class Command(BaseCommand):
    help = "Generate and verify questions for a course (LLM when configured, rule-built otherwise)."

    def add_arguments(self, parser):
        parser.add_argument("--course", required=True, help="the course's slug")
        parser.add_argument("--offline", action="store_true", help="use the rules even when an LLM is configured")

    def handle(self, *args, course, offline, **options):
        try:
            found = Course.objects.get(slug=course)
        except Course.DoesNotExist as error:
            raise CommandError(f"no course with the slug {course!r}") from error
        report = questions_generate(course=found, use_llm=False if offline else None)
        self.stdout.write(
            f"approved {report.approved}, drafts {report.drafts}, rejected {report.rejected}, "
            f"already known {report.skipped}"
        )
        for kind, count in sorted(report.reasons.items(), key=lambda item: -item[1]):
            self.stdout.write(f"  {kind}: {count} rejected")
        for entry in report.without_model:
            self.stdout.write(f"rule-built questions for section {entry['heading']!r}: {entry['reason']}")
        for prompt, problems in report.rejections:
            self.stdout.write(f"rejected: {prompt[:80]}")
            for problem in problems:
                self.stdout.write(f"  - {problem}")
