"""The words the answer parser reads around a pattern, by language (English, Chinese, Japanese,
Russian): what announces an explicit answer, what negates, hedges or conditions a mention, what
joins options into a list, and the longer words and phrases an answer word can be part of.

Everything here is lowercase (the parser compares casefolded text). Extending a language is
adding words here; parser.py holds the rules that use them.
"""

from __future__ import annotations

import re

# -- explicit answers -------------------------------------------------------------------------
# A marker, then separators, then (after at most a few filler words) the answer itself.
MARKER = re.compile(
    r"(?<![\w])(?:(?:final|correct|right|my|our|the)\s+)*"
    r"(?:answer|verdict|decision|conclusion|classification|label|judge?ment|assessment)(?![\w])"
    r"|(?<![\w])final(?=\s*:)"
    r"|(?<![\w])(?:correct|right|best|true)\s+(?:option|choice|statement|response)(?![\w])"
    r"|最终答案|正确答案|我的答案|答案|我的回答|回答|最终结论|结论|判断|判定|答复|结果|答(?=\s*:)"
    r"|最終回答|最終的な答え|答え|回答|結論|判定|判断"
    r"|(?<![\w])(?:итоговый\s+|окончательный\s+|правильный\s+)?(?:ответ|вывод|вердикт|решение|итог)"
    r"(?![\w])",
)
SEPARATORS = re.compile(
    r"(?:\s*(?:is|was|would\s+be|will\s+be|should\s+be|must\s+be|=>|->|→|=|:|-|—|–"
    r"|应该是|应为|就是|是|为|即|は|です|это)(?![a-z]))*\s*"
)
# Clause-initial words that conclude (or correct): "So, YES", "Actually NO", "所以否",
# "よって、はい", "Итак, нет".
CONCLUSION = re.compile(
    r"(?:(?<![\w])(?:so|therefore|thus|hence|overall|consequently|actually|in\s+conclusion|in\s+summary"
    r"|in\s+short|to\s+conclude|итак|поэтому|следовательно|таким\s+образом)(?![\w])"
    r"|综上所述|综上|所以|因此|因而|由此可见|可见|总之|故|よって|したがって|従って|つまり|結論として)"
    r"\s*[,:]?\s*"
)
# Words that may stand between a marker and the answer ("Answer: I think YES").
FILLER = {
    "i", "think", "believe", "say", "would", "we", "it", "it's", "its", "is", "that", "the",
    "clearly", "definitely", "certainly", "simply", "obviously", "probably", "likely", "still",
    "indeed", "firmly", "a", "an", "be", "this", "one", "'d", "i'd", "we'd", "answer", "final",
    "это", "я", "думаю", "считаю", "скорее", "всего", "точно", "однозначно",
}  # fmt: skip
CJK_FILLER = re.compile(r"(?:我认为|我觉得|应该是|应该|显然|肯定|当然|就是|则是|则|是|为|会是)*")

# -- negation, hedges, conditions -------------------------------------------------------------
NEGATIONS = {
    "not", "no", "never", "isn't", "isnt", "aren't", "wasn't", "weren't", "don't", "doesn't",
    "didn't", "cannot", "can't", "won't", "shouldn't", "wouldn't", "neither", "nor", "without",
    "non", "hardly", "barely", "scarcely", "nothing", "nobody", "none", "не", "ни", "нельзя",
}  # fmt: skip
NEGATION_PHRASES = ("far from", "rather than", "instead of")
# Chinese and Japanese negate with a character shortly before the word ("不太安全", "并不安全").
CJK_NEGATION_CHARS = "不没沒非无無未别莫"
# Words that start with a negation character and do not negate.
CJK_NOT_NEGATIONS = ("非常", "无论", "無論", "不管", "不论", "不論", "不错", "不錯")
# Japanese negates after the word ("安全ではありません").
POST_NEGATIONS = (
    "ではない", "ではありません", "ではなく", "じゃない", "じゃありません", "じゃなく",
    "でない", "とは言えない", "とは言えません", "とはいえない", "とはいえません",
)  # fmt: skip
# Words (clause-level, shortly before the mention) that make it a guess, not an answer.
HEDGES = {
    "could", "might", "may", "maybe", "perhaps", "possibly", "seem", "seems", "seemed",
    "appear", "appears", "appeared", "look", "looks", "looked", "может", "возможно",
    "кажется", "наверное",
}  # fmt: skip
# Reported words are someone else's: "the subject line says URGENT", "flagged as VULNERABLE".
REPORTED = {
    "says", "said", "claims", "claimed", "states", "stated", "reads", "writes", "wrote",
    "flagged", "flags", "labelled", "labeled", "reported", "reports", "suggests", "suggested",
}  # fmt: skip
CJK_HEDGES = ("可能", "也许", "或许", "大概", "似乎", "好像", "看起来")
POST_HEDGES = ("かもしれ", "かも")
# A clause holding one of these, and the clause after it, state a condition, not an answer.
CONDITIONALS = {
    "if", "unless", "otherwise", "assuming", "suppose", "supposing", "если", "иначе",
}  # fmt: skip
# Conditions only as a phrase: "provided that X" is one, "the provided options" is not.
CONDITIONAL_PHRASES = ("provided that", "providing that")
CJK_CONDITIONALS = (
    "如果",
    "假如",
    "倘若",
    "假若",
    "如若",
    "若是",
    "要是",
    "假设",
    "もし",
    "ならば",
)
# Contrast ends the reach of a negation: "not SAFE but VULNERABLE".
CONTRAST = re.compile(
    r"(?<![\w])(?:but|rather|instead|though|whereas|however|но|а|однако)(?![\w])"
    r"|而是|但是|但|不过|却|しかし|でも"
)

# -- lists of options -------------------------------------------------------------------------
# What may join two different answers into a list of options: "YES or NO", "安全和危险".
CONNECTOR = re.compile(
    r"\s*(?:,\s*(?:or|and)?|/|\||or|and|nor|vs\.?|versus|、|或者|或是|或|还是|和|与|及"
    r"|とも|と|か|または|や|или|либо|и)\s*"
)

# -- words an answer word can be part of ------------------------------------------------------
# English "no" before a noun is a determiner ("no doubt", "no issues"), not an answer; these
# words may follow the answer "no" ("No it isn't", "No because...").
NO_CONTINUATIONS = {
    "it", "it's", "its", "this", "that", "that's", "the", "because", "since", "as", "but",
    "and", "so", "i", "i'm", "we", "they", "he", "she", "there", "there's", "not", "never",
    "sir", "way", "wait", "actually", "definitely", "absolutely", "certainly", "could", "would",
    "should", "can", "will", "may", "might", "must", "is", "was", "seems", "applies", "holds",
    "это", "так", "потому", "не", "и", "но", "а", "он", "она", "оно", "они", "я", "мы",
}  # fmt: skip
DETERMINER_ANSWERS = {"no", "нет"}
# Phrases an answer word is part of (the word inside them is no answer).
IDIOMS = (
    "safe to say", "safe to assume", "to be safe", "on the safe side", "fail-safe",
    "failsafe", "safe bet", "play it safe", "false positive", "false negative",
    "true positive", "true negative", "yes-man", "no-go",
)  # fmt: skip
# Chinese and Japanese words a one-character answer (or the other pattern) can be part of.
CJK_COMPOUNDS = (
    "是否", "是不是", "但是", "还是", "還是", "就是", "于是", "於是", "可是", "只是", "总是",
    "總是", "而是", "要是", "若是", "凡是", "倒是", "算是", "硬是", "真是", "老是", "或是",
    "不是", "否则", "否則", "否认", "否認", "否定", "否决", "否決", "与否", "與否", "能否",
    "可否", "是非", "对于", "對於", "针对", "針對", "面对", "面對", "绝对", "絕對", "对比",
    "對比", "不错", "不錯", "错误", "錯誤",
)  # fmt: skip
# What may follow a one-character answer: particles and words that start a new clause.
CJK_AFTER_ANSWER = ("的", "了", "啊", "呀", "吧", "哦", "呢", "嘛", "因为", "理由", "原因", "所以")
# Suffixes that turn a word into a longer noun: 安全性, 安全隐患, 危険性.
CJK_NOUN_SUFFIXES = (
    "性", "感", "度", "率", "问题", "問題", "隐患", "隱患", "漏洞", "措施", "等级", "等級",
    "级别", "級別", "方面", "意识", "意識", "检查", "検査",
)  # fmt: skip
# What may follow a kana answer ("はいです", "いいえ、").
KANA_AFTER_ANSWER = ("です", "でした", "だ")

# -- running on after the answer --------------------------------------------------------------
# Some models, having answered, write on into other questions: a new question block, or a
# summary of "all the answers" (the answers of the prompt's worked examples). A sentence that
# opens such a block after the first explicit answer ends the model's own answer.
NEW_QUESTION = re.compile(
    r"(?:question|problem|q)[ \t]*(?:\d+[ \t]*(?:[:.)]|$)|[:.)])|(?:问题|問題|вопрос)\s*\d*\s*[:：]"
)
SUMMARY = re.compile(
    r"(?<![\w])(?:summar|combin|recap|compil|collect|list)\w*"
    r"[^.\n]{0,40}?(?<![\w])(?:answers|questions)(?![\w])"
    r"|(?<![\w])all\s+(?:of\s+)?(?:the\s+|these\s+)?(?:above\s+|previous\s+)?(?:answers|questions)"
    r"(?![\w])"
    r"|总结|汇总|所有答案|以上[^。\n]{0,6}答案|まとめ|(?<![\w])(?:все|всех)\s+ответ"
)
