"""The learner's cards as CSV or an Anki deck (.apkg, with genanki)."""

import csv
import hashlib
import html
import tempfile
from pathlib import Path

import genanki

from .selectors import export_rows

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(…) that leaks data when clicked).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value):
    """A text cell a spreadsheet shows as text: a leading apostrophe turns a would-be formula into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_writer(out):
    """csv.writer whose rows are made formula-safe."""
    writer = csv.writer(out)

    class _Writer:
        def writerow(self, row):
            return writer.writerow([text_cell(value) for value in row])

    return _Writer()


CSV_HEADER = ["question", "type", "options", "answer", "explanation", "section", "due", "reps", "lapses", "leech"]


def cards_csv(*, user, out) -> None:
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    for card in export_rows(user=user):
        question = card.question
        writer.writerow([
            question.prompt, question.type, " | ".join(question.options), question.answer, question.explanation,
            question.section.heading if question.section else "", card.due.isoformat(), card.reps, card.lapses,
            "yes" if card.is_leech else "",
        ])


def stable_id(text: str) -> int:
    """Anki ids are 31-bit-ish integers that must not change between exports, or re-importing duplicates the deck."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) >> 1


ANKI_MODEL = genanki.Model(
    stable_id("primer-question-model"),
    "Primer question",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Explanation"}, {"name": "Source"}],
    templates=[{
        "name": "Card 1",
        "qfmt": "{{Question}}",
        "afmt": "{{FrontSide}}<hr id=answer><b>{{Answer}}</b><p>{{Explanation}}</p><p><small>{{Source}}</small></p>",
    }],
)


def cards_apkg(*, user) -> bytes:
    deck = genanki.Deck(stable_id(f"primer-deck-{user.pk}"), "Primer")
    for card in export_rows(user=user):
        question = card.question
        prompt = html.escape(question.prompt)
        if question.options:
            prompt += "<ol type=A>" + "".join(f"<li>{html.escape(o)}</li>" for o in question.options) + "</ol>"
        source = html.escape(f"{question.section.lesson.title} › {question.section.heading}") if question.section else ""
        deck.add_note(genanki.Note(
            model=ANKI_MODEL,
            fields=[prompt, html.escape(question.answer), html.escape(question.explanation), source],
            guid=genanki.guid_for(f"primer-question-{question.pk}"),
        ))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "primer.apkg"
        genanki.Package(deck).write_to_file(str(path))
        return path.read_bytes()
