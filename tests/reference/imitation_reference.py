"""Re-check tests/test_irl.py's REF_* values with HumanCompatibleAI imitation's tabular MCE IRL
(``imitation.algorithms.mce_irl``), on the test's MDP (``_ref_P``, ``REF_R``, ``REF_INIT``, horizon 5):

* ``mce_partition_fh`` -> V, Q, pi, and ``mce_occupancy_measures`` -> D, Dcum, for discount 1.0 and 0.9;
* ``MCEIRL._train_step`` 25 times, reward = a bias-free float64 linear net on the features ``REF_F``, expert
  occupancy ``REF_EXPERT_OM``, ``torch.optim.SGD(lr=0.1)`` -> theta after each step (``REF_MCEIRL_THETAS``);
* ``MCEIRL._set_demo_from_trajectories`` with discount 0.9 on two hand-written trajectories (``REF_DEMO_OM_09``).

Run from the repository root in the scratch venv of README.md: ``python tests/reference/imitation_reference.py``.
"""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch as th
from common import compare, finish, from_test
from imitation.algorithms import mce_irl
from imitation.data import types
from imitation.rewards import reward_nets

t = from_test("test_irl.py", "REF_P3", "REF_R", "REF_INIT", "REF_V_10", "REF_Q_10", "REF_PI_10", "REF_D_10",
              "REF_DCUM_10", "REF_V_09", "REF_Q_09", "REF_PI_09", "REF_D_09", "REF_DCUM_09", "REF_MCEIRL_THETAS",
              "REF_DEMO_OM_09", "_ref_P", "REF_F", "REF_EXPERT_OM", "TOL")
P, F, TOL = t["_ref_P"](), t["REF_F"], t["TOL"]
S, A = P.shape[0], P.shape[1]


def tabular_env(reward: np.ndarray) -> SimpleNamespace:
    """What imitation's tabular functions read of a ``seals.base_envs.TabularModelPOMDP``."""
    return SimpleNamespace(transition_matrix=P, reward_matrix=reward, horizon=5, initial_state_dist=t["REF_INIT"],
                           state_dim=S, action_dim=A, observation_matrix=F, obs_dim=F.shape[1],
                           pomdp_observation_space=gym.spaces.Box(-np.inf, np.inf, (F.shape[1],)),
                           action_space=gym.spaces.Discrete(A), state_space=gym.spaces.Discrete(S))


env = tabular_env(t["REF_R"])
for discount, tag in ((1.0, "10"), (0.9, "09")):
    V, Q, pi = mce_irl.mce_partition_fh(env, discount=discount)
    compare(f"V discount {discount}", V, t[f"REF_V_{tag}"], TOL)
    compare(f"Q discount {discount}", Q, t[f"REF_Q_{tag}"], TOL)
    compare(f"pi discount {discount}", pi, t[f"REF_PI_{tag}"], TOL)
    D, Dcum = mce_irl.mce_occupancy_measures(env, pi=pi, discount=discount)
    compare(f"D discount {discount}", D, t[f"REF_D_{tag}"], TOL)
    compare(f"Dcum discount {discount}", Dcum, t[f"REF_DCUM_{tag}"], TOL)


class LinearReward(reward_nets.RewardNet):
    """r(s) = theta . F[s], float64, no bias, theta = 0 at the start (as helpers.irl.maxent_irl_path)."""

    def __init__(self) -> None:
        super().__init__(env.pomdp_observation_space, env.action_space)
        self.linear = th.nn.Linear(F.shape[1], 1, bias=False, dtype=th.float64)
        th.nn.init.zeros_(self.linear.weight)

    def forward(self, state, action, next_state, done):
        return self.linear(state).squeeze(-1)


net = LinearReward()
irl = mce_irl.MCEIRL(t["REF_EXPERT_OM"], tabular_env(np.zeros(S)), net, rng=np.random.default_rng(0),
                     optimizer_cls=th.optim.SGD, optimizer_kwargs={"lr": 0.1}, discount=1.0)
obs = th.as_tensor(F, dtype=th.float64)
thetas = []
for _ in range(25):
    irl._train_step(obs)
    thetas.append(net.linear.weight.detach().numpy()[0].copy())
compare("MCEIRL thetas (SGD, lr 0.1, 25 steps)", thetas, t["REF_MCEIRL_THETAS"], TOL)

states = np.array([[0, 1, 1, 3], [2, 2, 0, 1]])
trajs = [types.Trajectory(obs=s, acts=np.zeros(len(s) - 1, dtype=int), infos=None, terminal=True) for s in states]
demo = mce_irl.MCEIRL(trajs, tabular_env(np.zeros(S)), LinearReward(), rng=np.random.default_rng(0), discount=0.9)
compare("demo occupancy, discount 0.9", demo.demo_state_om, t["REF_DEMO_OM_09"], TOL)
finish("imitation")
