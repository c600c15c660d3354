from django.core.management.base import BaseCommand
from tqdm import tqdm

from content import services


class Command(BaseCommand):
    help = "Re-embed every chunk with the configured embedding model (run it after changing EMBEDDING_*)."

    def add_arguments(self, parser):
        parser.add_argument("--course", default=None, help="only this course's chunks")

    def handle(self, *args, course, **options):
        course_obj = services.Course.objects.get(slug=course) if course else None
        with tqdm(desc="Re-embedding", unit="chunk", disable=options["verbosity"] < 1) as bar:

            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)

            count = services.chunks_reindex(course=course_obj, progress=progress)
        self.stdout.write(f"{count} chunks re-embedded")
