"""The learner's cards as CSV or an Anki deck (.apkg, with genanki)."""

import csv
import hashlib
import html
import json
import sqlite3
import tempfile
import zipfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import fsrs
import genanki

from .models import ReviewLog, ReviewSettings
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
        writer.writerow(
            [
                question.prompt,
                question.type,
                " | ".join(question.options),
                question.answer,
                question.explanation,
                question.section.heading if question.section else "",
                card.due.isoformat(),
                card.reps,
                card.lapses,
                "yes" if card.is_leech else "",
            ]
        )


def stable_id(text: str) -> int:
    """Anki ids are 31-bit-ish integers that must not change between exports, or re-importing duplicates the deck."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) >> 1


ANKI_MODEL = genanki.Model(
    stable_id("primer-question-model"),
    "Primer question",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Explanation"}, {"name": "Source"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Question}}",
            "afmt": "{{FrontSide}}<hr id=answer><b>{{Answer}}</b><p>{{Explanation}}</p><p><small>{{Source}}</small></p>",
        }
    ],
)


def cards_apkg(*, user) -> bytes:
    """The deck with each card's scheduling state and review history, so that Anki continues where Primer was."""
    deck = genanki.Deck(stable_id(f"primer-deck-{user.pk}"), "Primer")
    cards = {}
    for card in export_rows(user=user):
        question = card.question
        prompt = html.escape(question.prompt)
        if question.options:
            prompt += "<ol type=A>" + "".join(f"<li>{html.escape(o)}</li>" for o in question.options) + "</ol>"
        source = (
            html.escape(f"{question.section.lesson.title} › {question.section.heading}") if question.section else ""
        )
        guid = genanki.guid_for(f"primer-question-{question.pk}")
        cards[guid] = card
        deck.add_note(
            genanki.Note(
                model=ANKI_MODEL,
                fields=[prompt, html.escape(question.answer), html.escape(question.explanation), source],
                guid=guid,
            )
        )
    reviews = defaultdict(list)
    for log in ReviewLog.objects.filter(user=user, undone_at__isnull=True).order_by("reviewed_at", "id"):
        reviews[log.card_id].append(log)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "primer.apkg"
        genanki.Package(deck).write_to_file(str(path))
        with zipfile.ZipFile(path) as package:
            package.extract("collection.anki2", directory)
            others = {name: package.read(name) for name in package.namelist() if name != "collection.anki2"}
        collection = Path(directory) / "collection.anki2"
        scheduling_write(
            collection,
            cards=cards,
            reviews=reviews,
            desired_retention=ReviewSettings.objects.filter(user=user)
            .values_list("desired_retention", flat=True)
            .first()
            or 0.9,
        )
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
            package.write(collection, "collection.anki2")
            for name, data in others.items():
                package.writestr(name, data)
        return path.read_bytes()


# Anki's card types and queues (rslib/src/card/mod.rs): new, learning, review, relearning; -1 queues a suspended card.
ANKI_TYPE = {0: 0, fsrs.State.Learning.value: 1, fsrs.State.Review.value: 2, fsrs.State.Relearning.value: 3}
ANKI_REVLOG_TYPE = {0: 0, fsrs.State.Learning.value: 0, fsrs.State.Review.value: 1, fsrs.State.Relearning.value: 2}
ANKI_REVLOG_MANUAL = 4


def anki_interval(*, due: datetime | None, since: datetime) -> int:
    """Anki's interval convention: whole days, or negative seconds below a day (learning steps)."""
    if due is None:
        return 0
    seconds = (due - since).total_seconds()
    return round(seconds / 86400) if seconds >= 86400 else -max(1, int(seconds))


def scheduling_write(collection: Path, *, cards: dict, reviews: dict, desired_retention: float) -> None:
    """Fill genanki's freshly written collection with each card's state (type, queue, due, interval, FSRS memory) and
    its answers as revlog rows."""
    db = sqlite3.connect(collection)
    try:
        (crt,) = db.execute("SELECT crt FROM col").fetchone()
        by_guid = dict(db.execute("SELECT n.guid, c.id FROM notes n JOIN cards c ON c.nid = n.id"))
        used_ids: set[int] = set()
        for position, (guid, card) in enumerate(cards.items()):
            anki_id = by_guid[guid]
            state = card.fsrs.get("state", 0) if card.reps else 0
            card_type = ANKI_TYPE.get(state, 0)
            last_review = datetime.fromisoformat(card.fsrs["last_review"]) if card.fsrs.get("last_review") else None
            if card_type == 0:
                due, interval, data = position, 0, ""
            elif card_type == 2:
                # A review card is due on a day, counted from the collection's creation.
                due = int((card.due.timestamp() - crt) // 86400)
                interval = max(1, anki_interval(due=card.due, since=last_review or card.due))
                data = json.dumps(
                    {
                        "s": round(card.fsrs["stability"], 4),
                        "d": round(card.fsrs["difficulty"], 4),
                        "dr": desired_retention,
                    }
                )
            else:
                due, interval = int(card.due.timestamp()), 0
                data = json.dumps(
                    {
                        "s": round(card.fsrs["stability"], 4),
                        "d": round(card.fsrs["difficulty"], 4),
                        "dr": desired_retention,
                    }
                )
            queue = -1 if card.suspended else card_type
            db.execute(
                "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, lapses = ?, data = ?"
                " WHERE id = ?",
                (card_type, queue, due, interval, 2500 if card_type else 0, card.reps, card.lapses, data, anki_id),
            )
            rows = []
            for log in reviews.get(card.pk, []):
                after = datetime.fromisoformat(log.card_after["due"]) if log.card_after.get("due") else None
                before_due = log.card_before.get("due")
                before_review = (log.card_before.get("fsrs") or {}).get("last_review")
                last_interval = (
                    anki_interval(due=datetime.fromisoformat(before_due), since=datetime.fromisoformat(before_review))
                    if before_due and before_review
                    else 0
                )
                rows.append(
                    (
                        log.reviewed_at,
                        log.rating,
                        anki_interval(due=after, since=log.reviewed_at),
                        last_interval,
                        log.duration_ms,
                        ANKI_REVLOG_TYPE.get(log.state_before, 0),
                    )
                )
            if card.reset_at:
                rows.append((card.reset_at, 0, 0, 0, 0, ANKI_REVLOG_MANUAL))
            for reviewed_at, ease, interval_after, last_interval, duration_ms, kind in sorted(rows, key=lambda r: r[0]):
                # Revlog ids are the answer's time in ms and must be unique across the collection.
                revlog_id = int(reviewed_at.timestamp() * 1000)
                while revlog_id in used_ids:
                    revlog_id += 1
                used_ids.add(revlog_id)
                db.execute(
                    "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, ?, 0, ?, ?)",
                    (revlog_id, anki_id, ease, interval_after, last_interval, min(duration_ms, 60_000), kind),
                )
        db.commit()
    finally:
        db.close()
