import json

from django.core.management.base import BaseCommand

from content.retrieval import search


class Command(BaseCommand):
    help = "Search a course's passages (dense + full text, fused) and print the hits."

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--course", default=None, help="course slug (default: every course)")
        parser.add_argument("-k", type=int, default=5)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, query, course, k, **options):
        hits = search(query, course=course, k=k)
        if options["json"]:
            self.stdout.write(json.dumps([hit.as_json() for hit in hits], ensure_ascii=False, indent=2))
            return
        for rank, hit in enumerate(hits, 1):
            self.stdout.write(f"{rank}. [{hit.score:.4f}] {hit.source} › {hit.section}\n   {hit.text[:160]}")
