from django.core.management.base import BaseCommand
from tqdm import tqdm

from content.models import Course
from content.services import shipped_course_load
from quizzes.services import handwritten_questions_load


class Command(BaseCommand):
    help = (
        "Load the course that ships in content/courses/ and its hand-written questions "
        "(a no-op when it is already loaded and unchanged)."
    )

    def handle(self, *args, **options):
        with tqdm(desc="Loading the shipped course", unit="file", disable=options["verbosity"] < 1) as bar:

            def progress(done, total, name):
                bar.total = total
                bar.set_postfix_str(name)
                bar.update(done - bar.n)

            report = shipped_course_load(progress=progress)
        changed = [f for f in report.files if f.status == "ingested"]
        course = Course.objects.get(slug="llm-basics")
        handwritten_questions_load(course=course)
        self.stdout.write(
            f"{course.slug}: {len(changed)} of {len(report.files)} lesson files loaded "
            f"({report.total('sections')} sections, {report.total('chunks')} chunks) in {report.seconds:.1f} s"
        )
