"""Helpers for *Aligned*, a hands-on course on safety alignment for language models.

One topic module (or package) per notebook over a shared floor. Import what you need:
``from helpers import goodhart``. Importing the package itself is cheap: no torch until a module that needs it
is imported. ``tests/test_architecture.py`` keeps this layout: the floor never imports a topic module, topic
modules import each other only where that test's ``ALLOWED`` list says why, and no module uses another's
private names.

| module | notebook | what |
|---|---|---|
| `start` | 00 | environment checks, offline guard, the practice exercise |
| `goodhart` | 01 | Goodhart's law under best-of-n selection |
| `preferences` | 02 (13 uses `dpo_loss`) | Bradley-Terry, reward models, best-of-n, TinyChat's answers |
| `irl` | 03 | maximum-causal-entropy inverse RL |
| `constraints` | 04 | constrained MDPs, Lagrangians, KL-regularised policies |
| `interpretability` | 05 | attributions, probes, steering TinyChat; `smollm_refusal`: the aligned SmolLM2's refusal direction |
| `adversarial` | 06 (12 uses its token attack) | FGSM, PGD, adversarial training, token attacks |
| `social_choice` | 07 | voting rules, bargaining, pairwise preferences |
| `continual` | 08 | forgetting, EWC, replay |
| `ethics` | 09 | moral uncertainty, fairness criteria |
| `monitoring` | 10 | drift tests, out-of-distribution scores, change detection |
| `moderation` | 11 (12 uses the moderator) | keyword and learned moderators, how to measure them |
| `guardrails` | 12 | a guarded chatbot: input and output rails, red-teaming |
| `rlhf` | 13 (05 uses the aligned SmolLM2) | DPO on TinyChat, evaluation, the beta sweep; `smollm_safety`: SmolLM2 aligned with LoRA |
| `policy_gradients` | 14 | REINFORCE, RLOO, GRPO, PPO's clipped loss, the KL-penalised RLHF loop on TinyChat |
| **floor** | | |
| `tinylm` | 02, 05, 06, 08, 12, 13 | TinyChat: the course's own 2-layer GPT, its corpus and exact judges |
| `smollm` | 00, 05, 13 | the real model, SmolLM2-135M-Instruct, run by our own torch code |
| `digits` | 05, 06, 08 | the 8x8 digits and the one MLP trained on them |
| `gridworld` | 03, 04 | grid MDPs and their drawing |
| `validation` | all | input checks (the public-boundary ``ValueError``s) |
| `stats` | 01, 02, 04, 11, 12 | KL divergence, the best-of-n KL formula, the Wilson interval, rounding for shipped JSON |
| `optim` | 05, 06, 08, 13 | Adam / AdamW written out (bit for bit torch.optim's, without its 2.5 s import) |
| `checks` | all | exercise self-checks |
| `plotting` | all | one figure style |
| `widgets` | all | sliders bound to a compute and a draw function |

Every shipped artefact is rebuilt by ``python tools/rebuild.py`` (each one lies next to the code that makes it,
with a datasheet).
"""

__version__ = "0.1.0"
