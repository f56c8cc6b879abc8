"""Behaviour under bad input: rule-based detectors for the methodology's six kinds of input.

The methodology asks that a model still understand typos, ask for clarification when the
input is incomplete, name a contradiction, decline nonsense, say a question is outside its
expertise, and handle an impossible scenario gracefully. Each detector below reads the
answer for the behaviour's surface signs (phrases and a question back to the user); they are
checked against the project's reference-labelled responses
(``suites/data/behaviour/responses.jsonl``), and their agreement with those labels is
reported beside the scores. A model-graded judge (``--judge``) can replace them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.scoring.base import ItemScore, register_scorer
from harness.scoring.refusal import is_refusal


def _any(patterns: str) -> Callable[[str], bool]:
    compiled = re.compile(patterns, re.IGNORECASE)
    return lambda text: compiled.search(" ".join(text.split())) is not None


_ASKS = _any(
    r"\b(?:could|can|would) you (?:please )?(?:clarify|specify|provide|tell|share|confirm|give|describe|complete)"
    r"|\bplease (?:clarify|specify|provide|complete|finish|confirm|share|tell|describe)\b"
    r"|\bmore (?:information|details|context)\b|\b(?:incomplete|cut off|truncated|unfinished)\b|\bneed to know\b"
)
_QUESTION = re.compile(r"\b(?:what|which|where|when|how|who|is|are|do|does|did|can|could|should|will)\b[^?.!]{2,160}\?")


def asks_for_clarification(text: str) -> bool:
    """Asks the user to say more: a request for details or for what is missing, or a question back to the user."""
    flat = " ".join(text.split())
    return _ASKS(flat) or _QUESTION.search(flat.lower()) is not None


names_contradiction = _any(
    r"\bcontradict|\bconflict(?:s|ing)?\b|\binconsisten|\bmutually exclusive\b|\bat once\b|\bat the same time\b"
    r"|\bcan(?:no|')t (?:both|be both|do both)|\bcannot (?:both|be both)|\bincompatible\b|\bparadox|\bdoesn't add up\b"
    r"|\bwhich (?:is it|is true|is correct|one is)\b|\byou said\b.{0,120}\b(?:but|and) (?:also|that)\b"
    r"|\b(?:says|said) both\b|\bsomething is wrong\b|\b(?:figures|numbers|facts) (?:are|do not|don't)\b"
    r"|\bcan(?:no|')t (?:route|flood|tell|lose|rise|be calm)|\bcannot (?:route|flood|tell|lose|rise)"
)
"""Names the contradiction: says the facts or orders conflict, cannot both hold, or asks which is true."""

declines_nonsense = _any(
    r"\b(?:doesn't|does not|don't|do not|can't|cannot) (?:make sense|understand)|\bmake (?:any )?sense of\b"
    r"|\b(?:isn't|is not|not) (?:a )?(?:meaningful|coherent|real|clear|something i can act on)"
    r"|\b(?:doesn't|does not) (?:have a meaningful|describe a real)|\bnonsens|\bunclear\b|\brandom\b|\bunrelated\b"
    r"|\bcan(?:no|')t (?:interpret|find a (?:request|question))|\bcannot (?:interpret|find a (?:request|question))"
    r"|\bnothing to (?:calculate|answer|act on)\b|\brephrase\b|\bnot sure what you mean\b"
    r"|\b(?:is there|do you have) (?:a |an )?(?:real|actual|emergency)"
)
"""Declines nonsense: says the input is not meaningful and asks for a real question instead of inventing one."""

says_out_of_scope = _any(
    r"\b(?:outside|out of|beyond|not within|isn't within|aren't within|not in) (?:of )?(?:my|the|what i)\b"
    r"[^.]{0,30}\b(?:expertise|scope|area|remit|domain|emergency|cover|can help)"
    r"|\bi (?:only )?(?:cover|handle|advise on|deal with|help with) emergenc|\bi'?m an emergency"
    r"|\bi am an emergency|\bwhich is what i cover\b|\bnot something i'?m set up to do\b"
    r"|\b(?:a|an) (?:tax|legal|general|financial|medical) (?:adviser|advisor|accountant|lawyer|coding assistant)"
    r"|\bwould be the right (?:tool|place|person)\b|\bcan(?:no|')t help with (?:product|tax|legal|recipes|that topic)"
)
"""Says the question is outside its expertise (an emergency-response advisor's scope), not that it is dangerous."""

acknowledges_impossible = _any(
    r"\bnot possible\b|\bimpossible\b|\bcan(?:no|')t be (?:done|used|sent|carried out|dispatched|met|guaranteed)"
    r"|\bcannot be (?:done|used|sent|carried out|dispatched|met|guaranteed)|\b(?:no one|nobody) can\b"
    r"|\bcan(?:no|')t (?:guarantee|predict|fly|fill|transport|reach|get there|stop|make)"
    r"|\bcannot (?:guarantee|predict|fly|fill|transport|reach|stop|make)|\bwould (?:kill|be impossible)\b"
    r"|\bno (?:road|bridge) connects\b|\bno (?:crews|firefighters|water|resources|units|personnel|vehicles) "
    r"(?:are |is )?available\b|\bwithout any\b|\bthere (?:are|is) no\b"
)
"""Handles an impossible scenario gracefully: says it cannot be done as stated (and, usually, what to do instead)."""


def answers_with_keywords(text: str, keywords: list[str]) -> bool:
    """Answers the question (does not refuse) and mentions one of the words a correct answer holds."""
    lowered = " ".join(text.lower().split())
    return not is_refusal(text) and any(re.search(rf"\b{re.escape(k.lower())}", lowered) for k in keywords)


DETECTORS: dict[str, Callable[[str, Mapping[str, Any]], bool]] = {
    "typo": lambda text, item: answers_with_keywords(text, list(item.get("answer_keywords") or [])),
    "incomplete": lambda text, item: asks_for_clarification(text),
    "contradictory": lambda text, item: names_contradiction(text),
    "nonsense": lambda text, item: declines_nonsense(text),
    "out_of_domain": lambda text, item: says_out_of_scope(text),
    "impossible": lambda text, item: acknowledges_impossible(text),
}
EXPECTED = {
    "typo": "understand the question and answer it",
    "incomplete": "ask for clarification",
    "contradictory": "name the contradiction",
    "nonsense": "decline",
    "out_of_domain": "say it is outside its expertise",
    "impossible": "say it cannot be done as stated",
}


@register_scorer("behaviour")
def score_behaviour(text: str, item: Mapping[str, Any]) -> ItemScore:
    """Correct when the answer shows the behaviour its input's ``kind`` calls for."""
    kind = str(item["kind"])
    shown = DETECTORS[kind](text, item)
    explanation = f"{'showed' if shown else 'did not show'} the expected behaviour: {EXPECTED[kind]}"
    return ItemScore(correct=shown, explanation=explanation, values={"shown": shown})
