"""Rebuild the shipped moderator of notebook 12: ``python -m helpers.guardrails.build`` (or ``python
tools/rebuild.py guardrails``). Writes ``moderator.npz`` next to this file: ``tinychat_moderator()`` with its
default settings, deterministic, a few seconds. See ``DATASHEET.md``.
"""

from __future__ import annotations

from helpers import moderation
from helpers.guardrails.chatbot import MODERATOR_FILE, tinychat_moderator


def main() -> None:
    moderation.save_moderator(tinychat_moderator(), str(MODERATOR_FILE))
    print(f"wrote {MODERATOR_FILE}")


if __name__ == "__main__":
    main()
