from content import services
from content.models import Chunk, Lesson, Source

ATTENTION = "\n".join(
    [
        "1 注意力",
        "注意力机制让序列中的每个词元都能看到其他所有词元。查询、键和值是三个矩阵。" * 3,
        "2 多头注意力",
        "多头注意力把同一个输入投影到几个子空间里,分别计算注意力后再拼接起来。" * 3,
    ]
)
OVERFITTING = "\n".join(
    [
        "1 Over-fitting",
        "A model over-fits when it memorises the training data instead of the pattern behind it. " * 3,
        "2 Regularization",
        "Regularization adds a penalty on large weights, which keeps the fitted curve smooth. " * 3,
    ]
)


def _write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_changed_file_replaces_only_its_own_lesson(db, tmp_path):
    course = services.course_get_or_create(slug="tiny")
    _write(tmp_path, "attention.txt", ATTENTION)
    _write(tmp_path, "overfitting.txt", OVERFITTING)
    services.paths_ingest(course=course, paths=[tmp_path])
    kept = Lesson.objects.get(source__name="overfitting.txt")
    old = Lesson.objects.get(source__name="attention.txt")

    _write(tmp_path, "attention.txt", ATTENTION + "\n3 自注意力\n" + "自注意力里查询、键和值都来自同一个序列。" * 4)
    report = services.paths_ingest(course=course, paths=[tmp_path])

    assert {f.name: f.status for f in report.files} == {"attention.txt": "ingested", "overfitting.txt": "unchanged"}
    assert Lesson.objects.get(source__name="overfitting.txt").pk == kept.pk
    new = Lesson.objects.get(source__name="attention.txt")
    assert new.pk != old.pk and new.order == old.order
    assert [s.heading for s in new.sections.all()] == ["1 注意力", "2 多头注意力", "3 自注意力"]
    assert Source.objects.filter(course=course).count() == 2


def test_a_broken_file_is_reported_and_the_others_are_ingested(db, tmp_path):
    course = services.course_get_or_create(slug="mixed")
    _write(tmp_path, "attention-gbk.txt", ATTENTION, encoding="gbk")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nnot a pdf at all\n%%EOF")
    (tmp_path / "empty.md").write_bytes(b"")

    report = services.paths_ingest(course=course, paths=[tmp_path])

    statuses = {f.name: (f.status, f.reason) for f in report.files}
    assert statuses["attention-gbk.txt"][0] == "ingested"
    assert statuses["broken.pdf"][0] == "failed" and "PDF" in statuses["broken.pdf"][1]
    assert statuses["empty.md"] == ("failed", "the file is empty")
    assert Lesson.objects.filter(course=course).count() == 1
    assert Chunk.objects.filter(section__lesson__course=course, text__contains="查询、键和值").exists()


def test_chunks_carry_simplified_jieba_tokens(db, tmp_path):
    course = services.course_get_or_create(slug="traditional")
    _write(tmp_path, "bishop.txt", "1.2.5正則化\n" + "正則化在誤差函數上加一個懲罰項,抑制過擬合。" * 5, encoding="big5")
    services.paths_ingest(course=course, paths=[tmp_path])
    tokens = Chunk.objects.get(section__lesson__course=course).search_tokens.split()
    assert "正则化" in tokens and "过拟合" in tokens and "误差函数" in tokens
