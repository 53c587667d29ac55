"""Content moderation: a keyword baseline, a learned moderator, normalisation, and how to measure them (notebook 11).

Submodules: ``text`` (``normalize`` and the obfuscations it undoes), ``data`` (the shipped, template-built data
set; see ``DATASHEET.md``), ``model`` (``keyword_baseline``, ``train_moderator``, ``load_moderator``),
``evaluation`` (precision/recall/F1, the precision-recall curve and average precision as in scikit-learn, the
robustness table), ``robustness`` (obfuscations the normaliser was not written for, a greedy query
attack, clause reuse between splits, the cluster bootstrap), ``policy`` (action types and severities per
category), ``demo`` (the threshold demo), ``build`` (rebuilds the shipped data set and model). This
module only re-exports them; ``wilson_interval`` is ``helpers.stats.wilson_interval`` and ``validate_texts``
is ``helpers.validation.text_list``.

The taxonomy is a reduced version of OpenAI's moderation taxonomy (Markov et al., 2022, arXiv 2208.03274).
"""

from __future__ import annotations

from helpers.moderation.data import CATEGORIES, LABELS, Dataset, build_dataset, load_dataset
from helpers.moderation.demo import (
    ThresholdView,
    demo_threshold,
    draw_threshold,
    setup_threshold,
    threshold_view,
)
from helpers.moderation.evaluation import (
    average_precision,
    confusion_counts,
    pr_curve,
    precision_recall_f1,
    robustness_table,
)
from helpers.moderation.model import (
    KEYWORDS,
    KeywordModerator,
    LearnedModerator,
    keyword_baseline,
    load_moderator,
    save_moderator,
    train_moderator,
    validate_texts,
)
from helpers.moderation.policy import ACTIONS, POLICY, SUPPORT_MESSAGE, PolicyRule, action_for
from helpers.moderation.robustness import (
    UNSEEN_OBFUSCATIONS,
    AttackResult,
    base_sentence,
    clause_reuse,
    cluster_bootstrap_mean,
    greedy_char_attack,
    obfuscate_unseen,
)
from helpers.moderation.text import (
    OBFUSCATIONS,
    collapse_spaced_letters,
    fold_confusables,
    fold_leetspeak,
    normalize,
    obfuscate,
    remove_invisible,
    squeeze_repeats,
)
from helpers.stats import wilson_interval

__all__ = [
    "CATEGORIES", "LABELS", "KEYWORDS", "OBFUSCATIONS", "Dataset", "KeywordModerator", "LearnedModerator",
    "build_dataset", "load_dataset", "keyword_baseline", "train_moderator", "load_moderator", "save_moderator",
    "normalize", "remove_invisible", "fold_confusables", "fold_leetspeak", "collapse_spaced_letters",
    "squeeze_repeats", "obfuscate", "validate_texts",
    "precision_recall_f1", "confusion_counts", "pr_curve", "average_precision", "wilson_interval",
    "robustness_table", "UNSEEN_OBFUSCATIONS", "obfuscate_unseen", "AttackResult", "greedy_char_attack",
    "base_sentence", "clause_reuse", "cluster_bootstrap_mean", "ACTIONS", "POLICY", "SUPPORT_MESSAGE", "PolicyRule", "action_for",
    "ThresholdView", "threshold_view", "setup_threshold", "draw_threshold", "demo_threshold",
]
