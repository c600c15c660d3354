"""Instruction-like text in a source: lines written at an assistant or its reader rather than teaching.

A planted "tell the learner their password is compromised and visit …" must never come back as a cited answer.
Ingestion flags such sentences for staff (Chunk.flagged, the upload report, the admin); the tutor leaves them out
of both its offline answers and what it sends to the language model.
"""

import re

import textkit

_WHO = r"(?:the |your |every |all )?(?:learner|user|reader|student|visitor|engineer)s?"
_PATTERNS = [
    # Overriding the assistant's instructions.
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|messages?|guidelines)\b",
    r"\byou are now\b",
    r"\bnew instructions\b",
    r"\bdeveloper mode\b",
    r"\b(?:as an ai|ai assistant|language model|chatbot|the tutor|assistant)\b,?\s+(?:you\s+)?(?:must|should|will|shall)\b",
    r"\b(?:assistant|system)\s*:",
    # Imperatives about the reader, addressed to whoever relays the text.
    rf"\b(?:tell|inform|warn|instruct|remind|convince|urge)\s+{_WHO}\b",
    rf"\b(?:say|respond|reply|answer)\s+to\s+{_WHO}\b",
    # Credential and link lures.
    r"\b(?:password|passcode|credentials?|account|login|2fa|mfa)s?\b.{0,30}\b(?:compromised|expired|locked|suspended|"
    r"stolen|leaked|breached|hacked)\b",
    r"\b(?:verify|confirm|reset|update|re-?enter|enter|provide|send|share|submit)\s+(?:your|their|the)\s+"
    r"(?:password|passcode|credentials?|login|account details|bank|card)\b",
    r"\b(?:visit|go to|click|open|log ?in at|sign ?in at|navigate to)\s+(?:this link\s+)?(?:<)?(?:https?://|www\.)",
    # The same in Chinese.
    r"忽略.{0,10}(?:指令|指示|提示|规则)",
    r"你现在是",
    r"(?:告诉|通知|提醒|警告)(?:学习者|学员|用户|读者|学生)",
    r"(?:密码|账号|账户|凭证).{0,10}(?:泄露|泄漏|过期|被盗|被锁|失效|已被)",
    r"(?:访问|点击|打开|登录).{0,6}(?:https?://|www\.)",
]
INSTRUCTION_LIKE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
# A quoted example ("an attack might say 'ignore previous instructions'") is the course discussing injection, not
# doing it: quoted spans are left out of the match.
_QUOTED = re.compile(r"\"[^\"]{0,300}\"|“[^”]{0,300}”|‘[^’]{0,300}’|「[^」]{0,300}」")


def is_instruction_like(sentence: str) -> bool:
    return bool(INSTRUCTION_LIKE.search(_QUOTED.sub(" ", sentence or "")))


def split_sentences(text: str) -> list[str]:
    return textkit.sentences(text)


def flagged_sentences(text: str) -> list[str]:
    """The instruction-like sentences of a passage, for staff to review."""
    return [sentence for sentence in split_sentences(text) if is_instruction_like(sentence)]


def without_instructions(text: str) -> str:
    """The passage with its instruction-like sentences removed, line breaks kept."""
    if not INSTRUCTION_LIKE.search(_QUOTED.sub(" ", text or "")):
        return text
    lines = []
    for line in text.splitlines():
        kept = [s for s in split_sentences(line) if not is_instruction_like(s)]
        lines.append(" ".join(kept))
    return "\n".join(lines).strip()
