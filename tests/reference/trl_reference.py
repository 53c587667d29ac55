"""Re-check tests/test_preferences.py's DPO_CASES with TRL's DPO loss: ``DPOTrainer._compute_loss`` with
``loss_type="sigmoid"``, ``f_divergence_type="reverse_kl"`` and precomputed reference log-probabilities, on a
mocked model whose summed log-probabilities of the chosen and rejected responses are the values each case holds
(float64). Only the loss is compared; the trainer's metrics bookkeeping runs on the mock's zeros.

Run from the repository root in the scratch venv of README.md: ``python tests/reference/trl_reference.py``.
"""

from collections import defaultdict
from types import SimpleNamespace

import torch
from common import compare, finish, from_test
from trl import DPOTrainer


def trl_dpo_loss(pc, pr, rc, rr, beta: float) -> float:
    logps = torch.tensor(pc + pr, dtype=torch.float64)  # the batch is [chosen, rejected]
    n = len(logps)

    def model(**_kwargs):  # one completion token per sequence: its log-prob is the summed log-prob
        return SimpleNamespace(log_probs=logps[:, None], entropy=torch.zeros(n, 1), mean_logits=torch.zeros(n, 1),
                               is_top1=torch.zeros(n, 1, dtype=torch.bool))

    trainer = DPOTrainer.__new__(DPOTrainer)  # no model, data set or accelerator setup: only what the loss reads
    gather = lambda x: x if torch.is_tensor(x) else torch.tensor(x)  # noqa: E731
    trainer.__dict__.update(
        model=SimpleNamespace(training=True), beta=beta, loss_types=["sigmoid"], loss_weights=[1.0],
        f_divergence_type="reverse_kl", precompute_ref_logps=True, ld_alpha=None, use_weighting=False,
        aux_loss_enabled=False, label_smoothing=0.0, _metrics=defaultdict(lambda: defaultdict(list)),
        _total_train_tokens=0, _tp_size=1,
        accelerator=SimpleNamespace(device="cpu", gather_for_metrics=gather, gather=gather))
    inputs = {"input_ids": torch.zeros(n, 2, dtype=torch.long), "attention_mask": torch.ones(n, 2, dtype=torch.long),
              "completion_mask": torch.tensor([[0, 1]] * n),
              "ref_chosen_logps": torch.tensor(rc, dtype=torch.float64),
              "ref_rejected_logps": torch.tensor(rr, dtype=torch.float64)}
    return float(trainer._compute_loss(model, inputs, return_outputs=False))


for i, ((pc, pr, rc, rr, beta), want) in enumerate(from_test("test_preferences.py", "DPO_CASES")["DPO_CASES"]):
    compare(f"case {i} (beta {beta})", trl_dpo_loss(pc, pr, rc, rr, beta), want, 1e-15 * abs(want))
finish("trl")
