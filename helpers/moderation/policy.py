"""What a moderator's flag should *do*: action types and severities per category (notebook 11).

A flag is not one action. Following the practice of deployed policies (OpenAI's moderation categories,
Markov et al. 2022, arXiv 2208.03274; crisis-response guidance such as the Samaritans' media and online
guidelines), self-harm is its own action class: a first-person disclosure gets a supportive reply with
support resources and is escalated to a trained human, never a bare block, because blocking a person in
crisis removes the one place they asked. Threats and hate are blocked; severity sets whether a human
reviews the case.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.moderation.data import CATEGORIES

__all__ = ["ACTIONS", "PolicyRule", "POLICY", "SUPPORT_MESSAGE", "action_for"]

ACTIONS: tuple[str, ...] = ("allow", "support", "block", "block_and_review")

SUPPORT_MESSAGE = (
    "I'm really sorry you're going through this, and I'm glad you told me. You don't have to face it alone: "
    "please talk to someone you trust today. If you might act on these thoughts, call your local emergency "
    "number now. You can reach a crisis line at any hour: in the UK and Ireland, Samaritans on 116 123; in the "
    "US, call or text 988; elsewhere, https://findahelpline.com lists free services. I'm here to keep talking "
    "if that helps."
)


@dataclass(frozen=True)
class PolicyRule:
    """One category's rule: the action when flagged, its severity (1 low to 3 high), whether a human sees it."""

    category: str
    action: str
    severity: int
    escalate: bool
    note: str


POLICY: dict[str, PolicyRule] = {
    "self_harm": PolicyRule("self_harm", "support", 3, True,
                            "support resources and a human, never a bare block"),
    "violence": PolicyRule("violence", "block_and_review", 3, True, "credible threats reach a human"),
    "hate": PolicyRule("hate", "block_and_review", 2, True, "repeat offenders reviewed"),
    "harassment": PolicyRule("harassment", "block", 2, False, "block; review on appeal"),
    "illegal": PolicyRule("illegal", "block", 2, False, "refuse with a legal alternative"),
}
assert set(POLICY) == set(CATEGORIES)


def action_for(category: str, flagged: bool) -> PolicyRule | None:
    """The rule that applies to a text of top category ``category``; ``None`` when it is not flagged."""
    if category not in CATEGORIES and category != "benign":
        raise ValueError(f"category must be one of {CATEGORIES} or 'benign', got {category!r}")
    if not flagged or category == "benign":
        return None
    return POLICY[category]
