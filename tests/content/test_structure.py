from content.structure import chunk, heading_of, images_as_alt_text, split_sections


def test_numbered_plain_text_headings_are_found():
    assert heading_of("1 编解码与表示学习") == (1, "1 编解码与表示学习")
    assert heading_of("1.1. 神经元与网络") == (2, "1.1. 神经元与网络")
    assert heading_of("1.2.3誤差函數") == (3, "1.2.3誤差函數")
    assert heading_of("第1章:深度學習革命")[0] == 1


def test_list_items_sentences_and_code_are_not_headings():
    assert heading_of("1. 以某个框架为主的第一批工具") is None
    assert heading_of("  2. 以两个流行框架为核心的一整套生态") is None
    assert heading_of("1 ) 先学会把输入变成某种内部表示") is None
    assert heading_of("2)再学会按照要求完成具体的任务。") is None
    assert heading_of("12 import osos.environ['HTTPS_PROXY'] = 'http://127.0.0.1:7890'") is None
    assert heading_of("2012年,一支大学团队带着新模型参加了比赛。") is None


def test_sections_split_at_headings_and_a_table_of_contents_leaves_no_empty_sections():
    text = "\n".join(
        [
            "目录",
            "1.1深度学习的影响",
            "1.1.1医疗诊断",  # a table of contents: headings without text
            "1.1深度学习的影响",
            "深度学习改变了许多领域。" * 5,
            "1.1.1医疗诊断",
            "模型可以从皮肤照片中区分恶性与良性的病变。" * 3,
        ]
    )
    sections = split_sections(text)
    assert [s.heading for s in sections] == ["1.1深度学习的影响", "1.1.1医疗诊断"]
    assert [s.level for s in sections] == [2, 3]


def test_chunks_end_on_sentence_ends_and_stay_near_the_target_size():
    body = "".join(f"这是第{i}句话,用来说明分块会在中文句号处结束。" for i in range(40))
    chunks = chunk(body)
    assert len(chunks) >= 3
    assert all(c.endswith("。") for c in chunks)
    assert all(150 <= len(c) <= 460 for c in chunks[:-1])


def test_consecutive_chunks_overlap_by_a_sentence():
    body = " ".join(f"Sentence number {i} explains how chunks overlap at their edges." for i in range(30))
    chunks = chunk(body)
    last_sentence = chunks[0].split(". ")[-1]
    assert last_sentence.rstrip(".") in chunks[1]


def test_formulas_and_list_items_are_never_cut():
    items = "\n".join(
        f"- 第{i}条:损失函数 L(w) = Σ (y_i − f(x_i))² 衡量预测与标准值的差距,越小越好。" for i in range(12)
    )
    chunks = chunk(items)
    lines = {line for c in chunks for line in c.splitlines()}
    assert all(line.startswith("- 第") and line.endswith("越小越好。") for line in lines)


def test_an_image_on_its_own_line_is_a_sentence_of_its_own_that_says_it_is_a_figure():
    text = "![The cache grows by one token](kv.svg)\n\nDone naively, step 300 recomputes everything."
    assert images_as_alt_text(text).startswith("Figure: The cache grows by one token.\n\nDone naively")
    chinese = "![缓存每一步增加一个词元](kv.zh.svg)\n\n如果照搬最朴素的做法，就要全部重算。"
    assert images_as_alt_text(chinese).startswith("图：缓存每一步增加一个词元。\n\n如果")
    # A description that already says what it is keeps its own word.
    assert images_as_alt_text("![柱状图：概率分布](p.svg)") == "柱状图：概率分布。"
    assert images_as_alt_text("![Diagram: encoder and decoder](d.svg)") == "Diagram: encoder and decoder."
    # An image inside a sentence is read as its words, with no full stop in the middle of the sentence.
    assert images_as_alt_text("See ![the diagram](d.svg) below.") == "See the diagram below."
    # The chunks of a section no longer run the image's words into the paragraph after it.
    assert "one token Done" not in " ".join(chunk(images_as_alt_text(text)))


def test_the_sentence_after_a_table_starts_a_line_of_its_own():
    body = "| Row | GB |\n|---|---|\n| Total | 42 |\n\nOnly the middle row shrinks, and that is where the memory goes."
    (text,) = chunk(body)
    # Glued to the row, the sentence read as the table's last cell, and the tutor skipped it with the table.
    assert "\nOnly the middle row shrinks" in text
    assert "| Total | 42 |\n" in text


def test_a_full_stop_inside_brackets_ends_no_sentence():
    import textkit

    text = "所以要分两部分来测：检索（正确的文本找回来了吗？）和生成（回答忠于它吗？）。下一句。"
    assert textkit.sentences(text) == [
        "所以要分两部分来测：检索（正确的文本找回来了吗？）和生成（回答忠于它吗？）。",
        "下一句。",
    ]
    english = "Test the search (did the right text come back?) and the generation. Next."
    assert textkit.sentences(english) == [
        "Test the search (did the right text come back?) and the generation.",
        "Next.",
    ]
