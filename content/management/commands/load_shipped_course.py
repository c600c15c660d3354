from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the course that ships in content/courses/ (a no-op when it is already loaded and unchanged)."

    def handle(self, *args, **options):
        self.stdout.write("No shipped course loader yet.")
