"""Rebuild the shipped beta sweep of notebook 13: ``python -m helpers.rlhf.build`` (or ``python
tools/rebuild.py rlhf``). Writes ``sweep.json`` next to this file (DPO at beta 0.1, 0.3, 1 on 12 pairs per
training family, evaluated on the held-out families; a few minutes on one core). See ``DATASHEET.md``.
"""

from __future__ import annotations

import json


def main() -> None:
    import torch

    from helpers import tinylm
    from helpers.rlhf.dpo import beta_sweep, build_preference_pairs, save_sweep

    torch.set_num_threads(1)
    base = tinylm.load_tinychat()
    pairs = build_preference_pairs(base, n_per_family=12, seed=0)
    sweep = beta_sweep(base, pairs)
    print(json.dumps({k: v["rates"] for k, v in sweep["runs"].items()}, indent=1))
    print("wrote", save_sweep(sweep))


if __name__ == "__main__":
    main()
