from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("quizzes", "0005_card_suspend_reset_note"),
    ]

    operations = [
        migrations.AddField(
            model_name="card",
            name="last_review",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="card",
            name="stability",
            field=models.FloatField(blank=True, null=True),
        ),
        # Fill the new columns from each card's FSRS state; the dashboard's SQL falls back to the JSON when a row
        # has none, so this only makes the existing cards fast.
        migrations.RunSQL(
            "UPDATE quizzes_card SET stability = (fsrs->>'stability')::float8, "
            "last_review = (fsrs->>'last_review')::timestamptz WHERE fsrs ? 'stability'",
            migrations.RunSQL.noop,
        ),
    ]
