"""Rebuild the shipped results of notebook 13: ``python -m helpers.rlhf.build`` (or ``python tools/rebuild.py
rlhf``). Writes next to this file ``sweep.json`` (DPO at beta 0.1, 0.3, 1 on 12 pairs per training family,
three training seeds, evaluated on the held-out families) and ``second_round.json`` (a second, on-policy DPO
round from each seed's beta = 0.3 model, and its offline control). About a minute on one core. See
``DATASHEET.md``.
"""

from __future__ import annotations

import json

SEEDS = (0, 1, 2)


def main() -> None:
    import torch

    from helpers import tinylm
    from helpers.rlhf.dpo import (
        beta_sweep,
        build_preference_pairs,
        pooled_rates,
        save_second_round,
        save_sweep,
        second_round,
    )

    torch.set_num_threads(1)
    base = tinylm.load_tinychat()
    pairs = build_preference_pairs(base, n_per_family=12, seed=0)
    sweep = beta_sweep(base, pairs, seeds=SEEDS, kl_at=(15,))
    print(json.dumps({k: pooled_rates([r["rates"] for r in v]) for k, v in sweep["runs"].items()}, indent=1))
    print("wrote", save_sweep(sweep))
    rounds = [second_round(base, policy, beta=0.3, seed=s)
              for s, policy in zip(SEEDS, sweep["policies"]["0.3"], strict=True)]
    print("wrote", save_second_round(rounds))


if __name__ == "__main__":
    main()
