from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from content.models import Course
from tutor import answering, services


class Command(BaseCommand):
    help = "Ask the tutor a question from the command line: the same retrieval, prompt and fallbacks as the page."

    def add_arguments(self, parser):
        parser.add_argument("question")
        parser.add_argument("--course", help="the course's slug (default: every course)")
        parser.add_argument("--json", action="store_true", help='print {"answer", "mode", "citations"} as JSON')

    def handle(self, *args, question, course=None, json=False, **options):
        selected = None
        if course:
            selected = Course.objects.filter(slug=course).first()
            if selected is None:
                raise CommandError(f"no course with the slug {course!r}")
        # Answers belong to a conversation; the command's go to a dedicated, inactive account.
        user, _created = get_user_model().objects.get_or_create(
            username="tutor-cli@primer.local", defaults={"email": "tutor-cli@primer.local", "is_active": False}
        )
        conversation = services.conversation_start(user=user, question=question, course=selected)
        answer = services.answer_complete(services.answer_create(conversation=conversation, question=question))
        result = services.answer_as_json(answer)
        if json:
            self.stdout.write(services.dumps({key: result[key] for key in ("answer", "mode", "citations")}))
            return
        self.stdout.write(result["answer"] if not answer.not_in_course else answering.not_in_course_text(None))
        for citation in answer.citations:
            self.stdout.write(f"[{citation['n']}] {citation['lesson']} › {citation['section']} ({citation['url']})")
        for lesson in result["closest_lessons"]:
            self.stdout.write(f"- {lesson['title']} ({lesson['url']})")
