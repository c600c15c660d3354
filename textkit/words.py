"""Word lists: the field's vocabulary jieba must keep whole, and the words that say nothing about a subject."""

# The field's words that jieba's general dictionary does not know or splits badly ("低秩分解" into "低 / 秩 / 分解").
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

# One list for search queries, the tutor's key terms and the keywords of a reference answer: function words,
# question words, and the frame of a question ("解决了什么问题", "what is the difference between"), which
# says nothing about its subject.
STOP_WORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 及其 吗 呢 吧 啊 么 什么 怎么 怎样 如何 为什么 为何 哪些 哪个 多少 几 一个 这个 那个 "
    "这 那 有 没有 会 能 可以 要 把 被 让 对 从 到 中 上 下 里 它 他 她 我们 你 我 其 之 还 请 请问 解释 一下 说明 之间 "
    "是不是 什么样 问题 解决 意思 作用 用 区别 关系 主要 原因 为什么说 说 叫 称为 指 "
    "a an the of to in on at for from by with about into over under than then so such and or but not no is are "
    "was were be been being do does did doing has have had can could would should will shall may might must "
    "what why how when where which who whom whose this that these those it its there here i you he she we they me "
    "my your our their his her them us explain tell please mean means meaning difference between vs versus work "
    "works working use used using just also some any more most other like get got make makes made know give "
    "example examples".split()
)
