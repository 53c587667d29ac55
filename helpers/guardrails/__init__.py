"""A guarded chatbot: moderation rails around TinyChat, and a red-team evaluation (notebook 12).

Submodules: ``chatbot`` (the rails, ``GuardedChatbot``, the red-team report and suite, the demo), ``build``
(rebuilds the shipped ``moderator.npz``: ``python tools/rebuild.py guardrails``; see ``DATASHEET.md``). This
package only re-exports ``chatbot``'s public names.
"""

from helpers.guardrails.chatbot import (
    ATTACK_STYLES,
    CONFIGS,
    QUOTED,
    REFUSAL,
    ROLE_PLAY,
    SAFE_ALTERNATIVES,
    TINYCHAT_CATEGORIES,
    GuardedChatbot,
    RedTeamReport,
    Reply,
    SuitePrompt,
    SuiteRun,
    default_chatbot,
    demo_rails,
    draw_rails,
    load_tinychat_moderator,
    mask_placeholder,
    moderator_training_data,
    prompt_parts,
    rates,
    red_team_report,
    red_team_suite,
    run_suite,
    sanitize,
    setup_rails,
    tinychat_moderator,
)

__all__ = [
    "REFUSAL",
    "SAFE_ALTERNATIVES",
    "ROLE_PLAY",
    "QUOTED",
    "ATTACK_STYLES",
    "TINYCHAT_CATEGORIES",
    "mask_placeholder",
    "moderator_training_data",
    "tinychat_moderator",
    "load_tinychat_moderator",
    "Reply",
    "GuardedChatbot",
    "sanitize",
    "prompt_parts",
    "default_chatbot",
    "RedTeamReport",
    "red_team_report",
    "SuitePrompt",
    "red_team_suite",
    "SuiteRun",
    "run_suite",
    "rates",
    "CONFIGS",
    "setup_rails",
    "draw_rails",
    "demo_rails",
]
