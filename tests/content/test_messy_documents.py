"""Documents as teams really write and export them, beyond the fixture corpus: checklists, one-line sections, Notepad's
UTF-16, Windows quotes, ~~~ fences, hidden HTML, broken front matter, Word's merged cells, clashing file names."""

import io
import textwrap
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from content import services
from content.models import Chunk, IngestionJob, Lesson
from content.retrieval import search
from textkit import normalize

pytestmark = pytest.mark.django_db


def _course(slug="team-docs"):
    return services.course_get_or_create(slug=slug)


def _text(course) -> str:
    return "\n".join(Chunk.objects.filter(section__lesson__course=course).values_list("text", flat=True))


def _found(course, query, sentence):
    return any(normalize(sentence) in normalize(hit.text) for hit in search(query, course=course, k=5))


def _headings(course):
    return [s.heading for s in Lesson.objects.get(course=course).sections.order_by("position")]


def _md(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


def test_a_short_checklist_is_the_writer_s_text_not_a_link_list():
    course = _course()
    steps = "\n".join(
        f"{i}. {step}"
        for i, step in enumerate(
            [
                "Request access to the model playground",
                "Clone the prompts repository",
                "Run the evaluation script once",
                "Read the last three incident reports",
                "Pair with your buddy on a prompt review",
                "Ship one small prompt change",
            ],
            start=1,
        )
    )
    data = _md(
        """
        # First week checklist

        Your buddy walks you through the list below on your first morning; tick each item in the tracker.

        ## Steps

        STEPS

        ## Sandbox

        The sandbox resets every night at two o'clock, so save your notebooks to the shared drive before you leave.
        """
    ).replace(b"STEPS", steps.encode())
    assert services.file_ingest(course=course, name="checklist.md", data=data).status == "ingested"
    assert _found(course, "How do I get the prompts?", "Clone the prompts repository")
    assert "Ship one small prompt change" in _text(course)
    assert "save your notebooks to the shared drive" in _text(course)


def test_a_run_of_links_in_markdown_is_still_dropped_as_navigation():
    course = _course()
    links = "\n".join(f"- [Post {i}](https://wiki.example/posts/{i})" for i in range(8))
    body = "Attention lets each token weigh every earlier token when the model predicts the next one. " * 3
    data = f"# Attention\n\n{body}\n\n## More posts\n\n{links}\n".encode()
    assert services.file_ingest(course=course, name="attention.md", data=data).status == "ingested"
    assert "Post 3" not in _text(course) and "weigh every earlier token" in _text(course)


def test_a_one_line_section_is_kept_in_either_language():
    course = _course()
    data = _md(
        """
        # 新人指南

        第一周请完成三件事：申请沙箱权限、阅读评测手册、修改一个提示词。

        ## Help channel

        Ask questions in #llm-help.

        ## 值班

        值班电话：分机 4417，周末也有人接听。

        ## Contents

        ## Buddy system

        Every new hire gets a buddy from another team for the first month, who answers the questions you are too shy to ask.
        """
    )
    assert services.file_ingest(course=course, name="guide.md", data=data).status == "ingested"
    headings = _headings(course)
    assert {"Help channel", "值班", "Buddy system"} <= set(headings)
    assert "Contents" not in headings, "a heading with nothing under it is not a section"
    assert _found(course, "值班电话是多少？", "分机 4417")


def test_files_with_one_name_in_two_folders_are_two_lessons(tmp_path):
    course = _course()
    for team, fact in [
        ("team-a", "Team A reviews prompts on Tuesdays."),
        ("team-b", "Team B ships adapters on Fridays."),
    ]:
        (tmp_path / team).mkdir()
        text = f"# Overview\n\n{fact} The review covers every change merged that week, with its evaluation scores.\n"
        (tmp_path / team / "overview.md").write_text(text)
    report = services.paths_ingest(course=course, paths=[tmp_path])
    assert sorted((f.name, f.status) for f in report.files) == [
        ("team-a/overview.md", "ingested"),
        ("team-b/overview.md", "ingested"),
    ]
    assert Lesson.objects.filter(course=course).count() == 2
    assert "reviews prompts on Tuesdays" in _text(course) and "ships adapters on Fridays" in _text(course)


def test_every_uploaded_file_gets_a_line_in_the_report_a_readme_and_a_zip_too(settings, tmp_path, alice):
    settings.MEDIA_ROOT = str(tmp_path)
    course = _course()
    readme = b"# Team handbook\n\nThe handbook says how the team trains, evaluates and ships its fine-tuned models.\n"
    files = [SimpleUploadedFile("README.md", readme), SimpleUploadedFile("export.zip", b"PK\x03\x04" + b"\0" * 40)]
    job = services.ingestion_job_create(course=course, user=alice, files=files)
    services.ingestion_job_run(job_id=job.id, run_id=uuid.uuid4().hex)
    job.refresh_from_db()
    lines = {f["name"]: (f["status"], f["reason"]) for f in job.report["files"]}
    assert lines["README.md"] == ("ingested", "")
    assert lines["export.zip"][0] == "failed" and ".zip" in lines["export.zip"][1]
    assert job.status == IngestionJob.Status.DONE and "trains, evaluates and ships" in _text(course)


def test_a_folder_scan_still_passes_over_its_readme(tmp_path):
    course = _course()
    (tmp_path / "README.md").write_text(
        "# About this folder\n\nThese files are the articles the course is drawn from.\n"
    )
    (tmp_path / "lora.md").write_text("# LoRA\n\nLoRA freezes the weights and trains two small matrices instead.\n")
    report = services.paths_ingest(course=course, paths=[tmp_path])
    assert [f.name for f in report.files] == ["lora.md"]


def test_front_matter_yaml_cannot_parse_does_not_cost_the_page():
    course = _course()
    data = _md(
        """
        ---
        title: RAG: how retrieval works
        author: Search team
        ---

        # RAG: how retrieval works

        Retrieval-augmented generation fetches passages from the wiki and puts them in the prompt, so the model answers from our own documents.
        """
    )
    report = services.file_ingest(course=course, name="rag.md", data=data)
    assert (report.status, report.reason) == ("ingested", "")
    assert _found(course, "What does retrieval-augmented generation do?", "fetches passages from the wiki")
    assert "Search team" not in _text(course), "the broken block was metadata, not lesson text"


def test_a_page_opening_with_a_rule_keeps_its_first_paragraph():
    course = _course()
    data = _md(
        """
        ---
        Read this page before your first on-call shift; it lists who to call when the inference cluster is down.
        ---

        # On call

        The on-call engineer restarts the inference servers and posts a status update in the incident channel.
        """
    )
    assert services.file_ingest(course=course, name="oncall.md", data=data).status == "ingested"
    assert "who to call when the inference cluster is down" in _text(course)


def test_windows_1252_quotes_are_read_as_quotes_not_chinese():
    course = _course()
    # One line with a few curly apostrophes: too little for charset-normalizer to tell Windows-1252 from GBK.
    text = "The model\u2019s context isn\u2019t unlimited, so we don\u2019t send whole tickets; the gateway\u2019s summariser shortens them first."
    report = services.file_ingest(course=course, name="context.txt", data=text.encode("cp1252"))
    assert report.status == "ingested"
    assert "The model\u2019s context isn\u2019t unlimited" in _text(course)


def test_notepad_s_utf16_is_text(tmp_path):
    course = _course()
    text = "Safety filters\r\n\r\nThe safety filter checks every reply before it reaches the learner. 安全过滤器会检查每一条回复。\r\n"
    (tmp_path / "safety.txt").write_bytes(text.encode("utf-16"))  # Python writes the BOM, as Notepad does
    report = services.paths_ingest(course=course, paths=[tmp_path])
    assert [(f.status, f.reason) for f in report.files] == [("ingested", "")]
    assert _found(course, "What does the safety filter check?", "checks every reply before it reaches the learner")
    assert "安全过滤器会检查每一条回复" in _text(course)


def test_a_tilde_fence_is_code_its_comments_are_not_headings():
    course = _course()
    data = _md(
        """
        # Running the tokenizer

        The tokenizer CLI prints one token per line, which makes it easy to count how a prompt is split.

        ~~~bash
        # Install the tool
        pip install harbor-tok==2.3
        # Count the tokens of a file
        harbor-tok count notes.txt
        ~~~

        After counting, compare the number with the budget table on the platform page before you send a long prompt.
        """
    )
    assert services.file_ingest(course=course, name="tokenizer.md", data=data).status == "ingested"
    assert _headings(course) == ["Running the tokenizer"]
    assert "pip install harbor-tok==2.3" in _text(course)


def test_html_comments_and_scripts_in_markdown_are_not_lesson_text_but_code_showing_them_is():
    course = _course()
    data = _md(
        """
        # Sandbox access

        <!-- internal: the shared sandbox admin password is hunter2, do not publish -->
        The sandbox is a shared GPU machine for experiments; request access in the platform channel and expect approval within a day.

        <script>alert("tracking")</script>
        Sandbox jobs longer than four hours are stopped automatically, so checkpoint your fine-tuning runs every hour.

        ```html
        <!-- the chat widget mounts here -->
        ```
        """
    )
    assert services.file_ingest(course=course, name="sandbox.md", data=data).status == "ingested"
    text = _text(course)
    assert "hunter2" not in text and "tracking" not in text
    assert "request access in the platform channel" in text and "checkpoint your fine-tuning runs" in text
    assert "the chat widget mounts here" in text


def test_a_word_table_keeps_equal_neighbouring_cells_and_drops_only_merged_ones():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Review roles", level=1)
    document.add_paragraph("Each role below says who must approve a model change before it ships to learners.")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        table.rows, [["Role", "Approves", "Deadline"], ["Tech lead", "yes", "yes"], ["Intern", "", ""]], strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    merged = table.cell(2, 1).merge(table.cell(2, 2))
    merged.text = "shadows a reviewer"
    out = io.BytesIO()
    document.save(out)
    course = _course()
    assert services.file_ingest(course=course, name="roles.docx", data=out.getvalue()).status == "ingested"
    text = _text(course)
    assert "| Tech lead | yes | yes |" in text
    assert "| Intern | shadows a reviewer |" in text and "shadows a reviewer | shadows a reviewer" not in text


def test_a_setext_title_and_hugo_s_toml_front_matter_name_the_lesson():
    course = _course()
    setext = _md(
        """
        Prompt basics for new hires
        ===========================

        The assistant builds its prompt before it calls the model, and the system message always comes first.
        """
    )
    hugo = _md(
        """
        +++
        title = "Serving notes"
        date = 2024-05-01
        +++

        ## Batching

        Batching shares one read of the weights across many requests, which is why throughput rises with it.
        """
    )
    for name, data in [("prompts.md", setext), ("serving.md", hugo)]:
        assert services.file_ingest(course=course, name=name, data=data).status == "ingested"
    titles = set(Lesson.objects.filter(course=course).values_list("title", flat=True))
    assert titles == {"Prompt basics for new hires", "Serving notes"}
    assert "2024-05-01" not in _text(course) and "+++" not in _text(course)
