"""What the benchmarks share: a throwaway database on the same PostgreSQL, and percentiles."""

import os


def throwaway_database(name: str, settings_module: str | None = None):
    """Set Django up and create an empty, migrated database `name`, so development data is never touched.

    Returns the connection and a function that drops the database again.
    """
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

    def drop() -> None:
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    return connection, drop


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tutor_eval_by_half(database: str, eval_file, halves: tuple[str, ...], rates: str) -> dict:
    """Load the shipped course into throwaway database `database`, then print and return, for each half of the
    evaluation set `eval_file` (a file, or several read as one), what tutor.evaluation's function `rates` makes of
    its questions."""
    _connection, drop = throwaway_database(database)
    from content import services
    from content.models import Course
    from tutor import evaluation

    try:
        services.shipped_course_load()
        course = Course.objects.get(slug="llm-basics")
        results = {}
        for half in halves:
            files = eval_file if isinstance(eval_file, (list, tuple)) else [eval_file]
            questions = [q for path in files for q in evaluation.load_questions(path, half=half)]
            result = getattr(evaluation, rates)(questions, course=course)
            print(f"{half}: {result}; wrong: {result.wrong}")
            results[half] = result
        return results
    finally:
        drop()
