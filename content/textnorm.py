"""Text normalisation shared by indexing and querying, so both sides of a match see the same tokens.

Traditional characters are folded to Simplified (the Bishop chapter is Traditional, learners type
Simplified), text is lower-cased, and Chinese is segmented with jieba, which is taught the LLM
vocabulary it would otherwise split ("低秩分解" into "低 / 秩 / 分解").
"""

import functools
import logging
import re
import unicodedata

# The field's words that jieba's general dictionary does not know or splits badly.
LLM_TERMS = [
    "LoRA", "RLHF", "GPT", "GPT-1", "GPT-2", "GPT-3", "GPT-4", "ChatGPT", "BERT", "LLaMA", "Transformer",
    "token", "tokenizer", "embedding", "fine-tuning", "self-attention", "seq2seq", "few-shot", "zero-shot",
    "大语言模型", "大模型", "语言模型", "预训练", "微调", "指令微调", "全参数微调", "低秩", "低秩分解", "低秩适配",
    "秩", "矩阵", "词元", "分词", "自注意力", "注意力机制", "多头注意力", "编码器", "解码器", "自编码器",
    "反向传播", "正向传播", "前向传播", "梯度下降", "损失函数", "误差函数", "激活函数", "交叉熵", "过拟合",
    "欠拟合", "正则化", "泛化", "奖励模型", "强化学习", "人类反馈", "自监督学习", "监督学习", "无监督学习",
    "缩放定律", "规模定律", "显存", "参数量", "神经元", "神经网络", "深度学习", "机器学习", "表示学习",
    "世界知识", "提示工程", "上下文", "自回归", "多项式", "曲线拟合", "模型选择", "模型复杂度", "验证集",
    "训练集", "测试集", "张量", "卷积神经网络", "循环神经网络", "随机鹦鹉", "涌现", "对齐", "基础模型",
]

_WORD = re.compile(r"\w", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
STOP_TOKENS = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 及其 吗 呢 吧 啊 么 什么 怎么 怎样 如何 为什么 为何 哪些 哪个 多少 几 一个 这个 那个 "
    "这 那 有 没有 会 能 可以 要 把 被 让 对 从 到 中 上 下 里 它 他 她 我们 你 我 其 之 "
    # The frame of a question ("解决了什么问题", "有什么用", "是什么意思") says nothing about its subject.
    "问题 解决 意思 作用 用 区别 关系 主要 原因 为什么说 说 叫 称为 指 "
    "a an the of to in on for and or is are was were be been what why how which who does do did can "
    "with by as at from that this it its into about".split()
)


@functools.cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text) if _CJK.search(text) else text


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), Traditional to Simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if _WORD.match(c)]
    return sum(1 for c in letters if _CJK.match(c)) / len(letters) if letters else 0.0


def detect_language(text: str) -> str:
    """'en', 'zh-hans' or 'zh-hant' (Traditional when folding to Simplified changes many characters)."""
    sample = text[:20000]
    if cjk_ratio(sample) < 0.2:
        return "en"
    changed = sum(1 for a, b in zip(sample, to_simplified(sample)) if a != b)
    cjk = sum(1 for c in sample if _CJK.match(c))
    return "zh-hant" if cjk and changed / cjk > 0.05 else "zh-hans"


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for term in LLM_TERMS:
        jieba.add_word(term.lower(), freq=200000)
    jieba.initialize()
    return jieba


def add_terms(terms) -> None:
    """Teach jieba more words (the course's glossary terms and aliases)."""
    jieba = _jieba()
    for term in terms:
        term = normalize(term).strip()
        if term and _CJK.search(term):
            jieba.add_word(term, freq=200000)


def tokens(text: str) -> list[str]:
    """Search tokens: jieba's search-mode segmentation of the normalised text, punctuation dropped."""
    words = _jieba().lcut_for_search(normalize(text))
    return [w for w in (w.strip() for w in words) if w and _WORD.search(w)]


def search_tokens(text: str) -> str:
    return " ".join(tokens(text))


def query_tokens(text: str) -> list[str]:
    """Tokens worth matching in a question: no question words or particles, no duplicates."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if token not in STOP_TOKENS and not (len(token) == 1 and not _CJK.match(token) and not token.isdigit()):
            seen.setdefault(token)
    return list(seen)
