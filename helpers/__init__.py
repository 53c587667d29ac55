"""Helpers for *Aligned*, a hands-on course on safety alignment for language models.

One module per notebook (``goodhart`` for 01, ``preferences`` for 02, ...) plus a thin shared layer:
``checks`` (exercise self-checks), ``plotting`` (one figure style), ``widgets`` (sliders bound to a compute
and a draw function). Import what you need: ``from helpers import goodhart``. Importing the package itself
is cheap: no torch until a module that needs it is imported.
"""

__version__ = "0.1.0"
