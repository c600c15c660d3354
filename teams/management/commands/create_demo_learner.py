from django.core.management.base import BaseCommand

from teams.services import demo_learner_ensure


class Command(BaseCommand):
    help = "Create (or refresh) the demo learner whose login `make run` prints."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="demo@primer.local")
        parser.add_argument("--password", default="learn-llms")

    def handle(self, *args, email, password, **options):
        _, created = demo_learner_ensure(email=email, password=password)
        verb = "Created" if created else "Ready"
        self.stdout.write(f"{verb}: demo learner {email} / password {password}")
