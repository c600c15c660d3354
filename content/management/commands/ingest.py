import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from content import services


class Command(BaseCommand):
    help = "Ingest files or folders (Markdown, HTML, plain text, PDF, Word .docx) into a course; unchanged files are skipped."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--course", required=True, help="course slug; the course is created if it does not exist")
        parser.add_argument("--title", default="", help="the title of a new course")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, paths, course, title, json: bool, **options):
        course_obj = services.course_get_or_create(slug=course, title=title)
        with tqdm(desc="Ingesting", unit="file", disable=json or options["verbosity"] < 1) as bar:

            def progress(done, total, name):
                bar.total = total
                bar.set_postfix_str(name[:40])
                bar.update(done - bar.n)

            report = services.paths_ingest(course=course_obj, paths=paths, progress=progress)
        if json:
            self.stdout.write(_json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        else:
            for file in report.files:
                line = f"  {file.status:9} {file.name}"
                if file.status == "ingested":
                    line += f"  ({file.sections} sections, {file.chunks} chunks, {file.dropped} noise blocks dropped)"
                elif file.reason:
                    line += f"  — {file.reason}"
                self.stdout.write(self.style.ERROR(line) if file.status == "failed" else line)
            seconds = report.seconds or 1e-9
            self.stdout.write(
                f"{report.total('lessons')} lessons, {report.total('sections')} sections, {report.total('chunks')} chunks "
                f"in {report.seconds:.1f} s ({report.total('chunks') / seconds:.1f} chunks/s); "
                f"{len(report.failed)} failed"
            )
        if report.files and len(report.failed) == len(report.files):
            raise CommandError("no file could be ingested")


_json = json
