"""Maximum-(causal-)entropy inverse reinforcement learning on a tabular MDP (notebook 03).

Conventions mirror ``imitation.algorithms.mce_irl`` (HumanCompatibleAI ``imitation`` 1.0.1): transitions
``P[s, a, s']`` [S, A, S], a *state* reward ``r[s]`` [S], a finite horizon ``T``:

* ``mce_partition`` = ``mce_partition_fh``: soft Bellman backups (Ziebart 2010, PhD thesis, eqs. 9.1-9.3)

      Q[T-1, s, a] = r[s],   Q[t, s, a] = r[s] + gamma * sum_s' P[s, a, s'] V[t+1, s'],
      V[t, s] = log sum_a exp Q[t, s, a],   pi[t, s, a] = exp(Q[t, s, a] - V[t, s]);

* ``mce_occupancy`` = ``mce_occupancy_measures``: D[0] = init_dist,
  D[t+1, s'] = sum_{s,a} D[t, s] pi[t, s, a] P[s, a, s'] for t < T (so D has T + 1 rows), and the total
  D = sum_{t=0}^{T} gamma^t D[t];
* demonstrations are trajectories of T + 1 states; their empirical occupancy is the mean over trajectories
  of sum_t gamma^t 1[s_t = s] (``MCEIRL._set_demo_from_trajectories``).

Maximum-causal-entropy IRL (Ziebart, Bagnell & Dey 2010, "Modeling interaction via the principle of maximum
causal entropy", ICML; Ziebart 2010, PhD thesis) with a linear reward r = F theta matches feature counts; the
gradient of its Lagrangian dual is the feature-expectation gap

      grad = F^T (D_expert - D_theta)                 (expert minus learner feature counts)

which is the update ``MCEIRL`` performs with plain SGD on a linear reward (``maxent_irl_path``). A detail kept for
fidelity with ``imitation``: the soft values count the reward of the T states s_0..s_{T-1}, while both
occupancies count all T + 1 states s_0..s_T, so the update matches feature counts over T + 1 states. It is zero
at the true reward of a soft-optimal expert with the exact occupancy (both occupancies then coincide).

The dual equals the causal log-likelihood of the demonstrations only for deterministic dynamics. With stochastic
dynamics the two differ on a finite sample, and the empirical counts may be unreachable, so that the update has no
fixed point (notebook 03 shows one). ``max_likelihood_irl`` maximises the likelihood itself with L-BFGS and its
exact gradient (``log_likelihood_and_grad``); ``profile_interval`` gives profile-likelihood intervals.
``trajectory_partition`` is the trajectory-level model of Ziebart, Maas, Bagnell & Dey (2008), for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

from helpers import validation
from helpers.gridworld import GridWorld, draw_grid, make_gridworld
from helpers.plotting import COLORS
from helpers.widgets import InteractiveFigure, float_slider, int_slider

validate_transitions = validation.transitions  # [S, A, S], non-negative, rows summing to 1

__all__ = [
    "validate_transitions",
    "soft_bellman_backup",
    "mce_partition",
    "mce_occupancy",
    "Demonstrations",
    "sample_demonstrations",
    "empirical_occupancy",
    "feature_expectations",
    "irl_gradient",
    "IRLPath",
    "maxent_irl_path",
    "maxent_irl",
    "trajectory_log_likelihood",
    "visitation_distance",
    "trajectory_partition",
    "log_likelihood_and_grad",
    "MLFit",
    "max_likelihood_irl",
    "likelihood_ratio_statistic",
    "profile_interval",
    "NOTEBOOK_LAYOUT",
    "TRUE_THETA",
    "IRLExperiment",
    "irl_experiment",
    "relative_reward",
    "irl_demo_values",
    "setup_irl",
    "draw_irl",
    "demo_irl",
]


# ----------------------------------------------------------------------------------------------- validation
def soft_bellman_backup(P: np.ndarray, reward: np.ndarray, V_next: np.ndarray | None,
                        discount: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One soft Bellman backup (Ziebart 2010, eqs. 9.1-9.2): return ``(Q_t [S, A], V_t [S])``.

    Q_t(s, a) = r(s) + gamma * sum_s' P(s' | s, a) V_next(s')  (just r(s) when ``V_next`` is None: last step),
    V_t(s) = log sum_a exp Q_t(s, a)  (a "soft" max, computed stably with log-sum-exp).
    """
    P = validate_transitions(P)
    n_s, n_a, _ = P.shape
    reward = validation.finite_vector(reward, "reward", n_s)
    discount = validation.discount(discount, allow_one=True)
    if V_next is None:
        Q = np.broadcast_to(reward[:, None], (n_s, n_a)).copy()
    else:
        V_next = validation.finite_vector(V_next, "V_next", n_s)
        Q = reward[:, None] + discount * (P @ V_next)
    return Q, _lse(Q)


def _lse(Q: np.ndarray) -> np.ndarray:
    """log sum_a exp Q[s, a], stable (shift by the row max); a lean scipy.special.logsumexp(Q, axis=1)."""
    m = Q.max(axis=1)
    return m + np.log(np.exp(Q - m[:, None]).sum(axis=1))


def _partition(P: np.ndarray, reward: np.ndarray, horizon: int, discount: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_s, n_a, _ = P.shape
    V = np.empty((horizon, n_s))
    Q = np.empty((horizon, n_s, n_a))
    Q[horizon - 1] = reward[:, None]
    V[horizon - 1] = _lse(Q[horizon - 1])
    for t in range(horizon - 2, -1, -1):
        Q[t] = reward[:, None] + discount * (P @ V[t + 1])
        V[t] = _lse(Q[t])
    return V, Q, np.exp(Q - V[:, :, None])


def mce_partition(P: np.ndarray, reward: np.ndarray, horizon: int, discount: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-horizon soft value iteration, as ``imitation``'s ``mce_partition_fh``.

    Returns ``(V [T, S], Q [T, S, A], pi [T, S, A])``: soft values, soft Q-values and the maximum-causal-entropy
    policy pi[t, s, a] = exp(Q[t, s, a] - V[t, s]) (Ziebart 2010, eqs. 9.1-9.3; Ziebart, Bagnell & Dey 2010).
    """
    P = validate_transitions(P)
    reward = validation.finite_vector(reward, "reward", P.shape[0])
    return _partition(P, reward, validation.positive_int(horizon, "horizon"), validation.discount(discount, allow_one=True))


def _occupancy(P: np.ndarray, pi: np.ndarray, init_dist: np.ndarray, discount: float
               ) -> tuple[np.ndarray, np.ndarray]:
    horizon = pi.shape[0]
    P_flat = P.reshape(-1, P.shape[2])
    D = np.empty((horizon + 1, P.shape[0]))
    D[0] = init_dist
    for t in range(horizon):
        D[t + 1] = (D[t][:, None] * pi[t]).ravel() @ P_flat
    weights = discount ** np.arange(horizon + 1)
    return D, weights @ D


def mce_occupancy(P: np.ndarray, pi: np.ndarray, init_dist: np.ndarray, discount: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """State visitation of the time-dependent policy ``pi`` [T, S, A], as ``imitation``'s
    ``mce_occupancy_measures``: ``(D_t [T + 1, S], D [S])`` with D_t[0] = init_dist,
    D_t[t + 1, s'] = sum_{s, a} D_t[t, s] pi[t, s, a] P[s, a, s'] and D = sum_t gamma^t D_t[t].
    """
    P = validate_transitions(P)
    n_s, n_a, _ = P.shape
    pi = validation.probability_rows(pi, "pi", (None, n_s, n_a))
    init_dist = validation.probability_vector(init_dist, "init_dist", n_s)
    return _occupancy(P, pi, init_dist, validation.discount(discount, allow_one=True))


# ----------------------------------------------------------------------------------------- demonstrations
@dataclass(frozen=True)
class Demonstrations:
    """Sampled trajectories: ``states`` [n, T + 1] and ``actions`` [n, T] (integer indices)."""

    states: np.ndarray
    actions: np.ndarray

    @property
    def n(self) -> int:
        return int(self.states.shape[0])


def sample_demonstrations(P: np.ndarray, pi: np.ndarray, init_dist: np.ndarray, n_demos: int,
                          rng: np.random.Generator | int = 0) -> Demonstrations:
    """Roll out ``n_demos`` trajectories of the time-dependent policy ``pi`` [T, S, A] (T steps, T + 1 states).

    Vectorised inverse-CDF sampling, so it is cheap for thousands of trajectories.
    """
    P = validate_transitions(P)
    n_s, n_a, _ = P.shape
    pi = validation.probability_rows(pi, "pi", (None, n_s, n_a))
    init_dist = validation.probability_vector(init_dist, "init_dist", n_s)
    if isinstance(n_demos, bool) or int(n_demos) != n_demos or int(n_demos) < 1:
        raise ValueError(f"n_demos must be a positive integer, got {n_demos}")
    rng = np.random.default_rng(rng)
    n, horizon = int(n_demos), pi.shape[0]

    def draw(probs: np.ndarray) -> np.ndarray:  # one categorical draw per row of probs [n, K]
        cdf = np.cumsum(probs, axis=1)
        u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
        return np.minimum((u >= cdf).sum(axis=1), probs.shape[1] - 1)

    states = np.empty((n, horizon + 1), dtype=int)
    actions = np.empty((n, horizon), dtype=int)
    states[:, 0] = draw(np.broadcast_to(init_dist, (n, n_s)))
    for t in range(horizon):
        actions[:, t] = draw(pi[t, states[:, t]])
        states[:, t + 1] = draw(P[states[:, t], actions[:, t]])
    return Demonstrations(states=states, actions=actions)


def empirical_occupancy(states: np.ndarray, n_states: int, discount: float = 1.0) -> np.ndarray:
    """Mean over trajectories of sum_t gamma^t 1[s_t = s] (imitation's ``_set_demo_from_trajectories``)."""
    states = np.asarray(states)
    if states.ndim != 2 or states.shape[0] < 1 or states.shape[1] < 1:
        raise ValueError(f"states must have shape [n_trajectories, T + 1], got {states.shape}")
    if not np.issubdtype(states.dtype, np.integer) or states.min() < 0 or states.max() >= n_states:
        raise ValueError(f"states must be integer indices in [0, {n_states})")
    discount = validation.discount(discount, allow_one=True)
    weights = np.broadcast_to(discount ** np.arange(states.shape[1]), states.shape)
    return np.bincount(states.ravel(), weights=weights.ravel(), minlength=n_states) / states.shape[0]


def trajectory_log_likelihood(pi: np.ndarray, demos: Demonstrations) -> float:
    """Mean over trajectories of sum_t log pi[t, s_t, a_t]: how well a policy explains the demonstrations
    (the dynamics terms do not depend on the reward, so they are left out)."""
    pi = np.asarray(pi, dtype=float)
    if pi.ndim != 3 or pi.shape[0] != demos.actions.shape[1]:
        raise ValueError(f"pi must have shape [T, S, A] with T = {demos.actions.shape[1]}, got {pi.shape}")
    t = np.arange(demos.actions.shape[1])[None, :]
    with np.errstate(divide="ignore"):
        return float(np.log(pi[t, demos.states[:, :-1], demos.actions]).sum(axis=1).mean())


# -------------------------------------------------------------------------------------------- MaxEnt IRL
def feature_expectations(features: np.ndarray, occupancy: np.ndarray) -> np.ndarray:
    """Expected feature counts mu = F^T D  ([K]) of a state occupancy ``D`` [S] and features ``F`` [S, K]."""
    features = np.asarray(features, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"features must have shape [S, K], got {features.shape}")
    occupancy = validation.finite_vector(occupancy, "occupancy", features.shape[0])
    return features.T @ occupancy


def irl_gradient(features: np.ndarray, expert_occupancy: np.ndarray, learner_occupancy: np.ndarray
                 ) -> np.ndarray:
    """Expert feature counts minus the learner's, F^T (D_expert - D_learner): the gradient of the MCE dual
    (Ziebart, Bagnell & Dey 2010), and of the log-likelihood when the dynamics are deterministic (Ziebart et al.
    2008, eq. 6)."""
    features = np.asarray(features, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"features must have shape [S, K], got {features.shape}")
    expert_occupancy = validation.finite_vector(expert_occupancy, "expert_occupancy", features.shape[0])
    learner_occupancy = validation.finite_vector(learner_occupancy, "learner_occupancy", features.shape[0])
    return features.T @ (expert_occupancy - learner_occupancy)


def visitation_distance(D_a: np.ndarray, D_b: np.ndarray) -> float:
    """Total-variation distance between two state-visitation measures, each normalised to sum to 1."""
    D_a, D_b = np.asarray(D_a, dtype=float), np.asarray(D_b, dtype=float)
    if D_a.shape != D_b.shape or D_a.ndim != 1:
        raise ValueError(f"D_a and D_b must be vectors of the same shape, got {D_a.shape} and {D_b.shape}")
    if D_a.sum() <= 0 or D_b.sum() <= 0 or np.any(D_a < 0) or np.any(D_b < 0):
        raise ValueError("visitation measures must be non-negative with a positive total")
    return float(0.5 * np.abs(D_a / D_a.sum() - D_b / D_b.sum()).sum())


@dataclass(frozen=True)
class IRLPath:
    """The optimisation trajectory of ``maxent_irl_path``.

    ``thetas`` [steps + 1, K] (start first), ``gaps`` [steps + 1]: max-abs feature-count gap
    |F^T (D_expert - D_theta)|_inf at each theta, ``occupancy`` [S]: the learner's D at the final theta.
    """

    thetas: np.ndarray
    gaps: np.ndarray
    occupancy: np.ndarray

    @property
    def theta(self) -> np.ndarray:
        return self.thetas[-1]


def maxent_irl_path(P: np.ndarray, features: np.ndarray, expert_occupancy: np.ndarray, init_dist: np.ndarray,
                    horizon: int, lr: float = 0.05, steps: int = 200, discount: float = 1.0,
                    theta0: np.ndarray | None = None) -> IRLPath:
    """MCE IRL by feature-matching gradient ascent on theta (Ziebart, Bagnell & Dey 2010), recording every iterate.

    Each step: r = F theta; soft value iteration (``mce_partition``) gives the soft-optimal policy;
    ``mce_occupancy`` its visitation D_theta; theta += lr * F^T (D_expert - D_theta). This is
    ``imitation``'s ``MCEIRL`` training step with a linear reward and plain SGD.
    """
    P = validate_transitions(P)
    n_s = P.shape[0]
    features = _check_features(features, n_s)
    expert_occupancy = validation.finite_vector(expert_occupancy, "expert_occupancy", n_s)
    init_dist = validation.probability_vector(init_dist, "init_dist", n_s)
    horizon, discount = validation.positive_int(horizon, "horizon"), validation.discount(discount, allow_one=True)
    if not (float(lr) > 0.0 and np.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr}")
    if isinstance(steps, bool) or int(steps) != steps or int(steps) < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps}")
    k = features.shape[1]
    theta = np.zeros(k) if theta0 is None else validation.finite_vector(theta0, "theta0", k).copy()
    mu_expert = features.T @ expert_occupancy
    thetas, gaps = [theta.copy()], []
    for _ in range(int(steps) + 1):
        _, _, pi = _partition(P, features @ theta, horizon, discount)
        _, D = _occupancy(P, pi, init_dist, discount)
        grad = mu_expert - features.T @ D
        gaps.append(float(np.max(np.abs(grad))))
        if len(thetas) > int(steps):
            break
        theta = theta + float(lr) * grad
        thetas.append(theta.copy())
    return IRLPath(thetas=np.array(thetas), gaps=np.array(gaps), occupancy=D)


def maxent_irl(P: np.ndarray, features: np.ndarray, expert_occupancy: np.ndarray, init_dist: np.ndarray,
               horizon: int, lr: float = 0.05, steps: int = 200, discount: float = 1.0,
               theta0: np.ndarray | None = None) -> np.ndarray:
    """MCE IRL by feature matching: reward weights theta [K] with r = features @ theta whose soft-optimal
    policy matches the expert's feature counts. Gradient = expert feature expectations - learner's.
    See ``maxent_irl_path`` for the iterates."""
    return maxent_irl_path(P, features, expert_occupancy, init_dist, horizon, lr=lr, steps=steps,
                           discount=discount, theta0=theta0).theta


def trajectory_partition(P: np.ndarray, reward: np.ndarray, horizon: int) -> np.ndarray:
    """The trajectory-level MaxEnt policy of Ziebart, Maas, Bagnell & Dey (2008), ``pi`` [T, S, A].

    Their model puts P(tau) proportional to exp(sum_t r(s_t)) prod_t P(s_t+1 | s_t, a_t) on whole trajectories;
    the action it implies conditions on the outcome of the dynamics, so its backup is
    Q_t(s, a) = r(s) + log sum_s' P(s' | s, a) exp V_t+1(s')  (log E exp, optimistic about chance), against the
    causal backup's r(s) + E[V_t+1(s')] (Ziebart 2010, sec. 9.1 discusses the difference). The two coincide for
    deterministic dynamics. Used in notebook 03 to show what the causal version fixes.
    """
    P = validate_transitions(P)
    n_s, n_a, _ = P.shape
    reward = validation.finite_vector(reward, "reward", n_s)
    horizon = validation.positive_int(horizon, "horizon")
    with np.errstate(divide="ignore"):
        log_P = np.log(P)                                     # -inf where a move is impossible
    pi = np.empty((horizon, n_s, n_a))
    Q = np.broadcast_to(reward[:, None], (n_s, n_a)).copy()   # last step: Q = r(s)
    V = _lse(Q)
    pi[horizon - 1] = np.exp(Q - V[:, None])
    for t in range(horizon - 2, -1, -1):
        outcomes = log_P + V[None, None, :]                   # log P(s'|s, a) + V_t+1(s')
        m = outcomes.max(axis=2)
        Q = reward[:, None] + m + np.log(np.exp(outcomes - m[:, :, None]).sum(axis=2))
        V = _lse(Q)
        pi[t] = np.exp(Q - V[:, None])
    return pi


# ------------------------------------------------------------------------------ maximum likelihood, exactly
def _check_features(features: np.ndarray, n_states: int) -> np.ndarray:
    features = np.asarray(features, dtype=float)
    if features.ndim != 2 or features.shape[0] != n_states or not np.all(np.isfinite(features)):
        raise ValueError(f"features must be a finite array of shape [{n_states}, K], got {features.shape}")
    return features


def _check_demos(P: np.ndarray, features: np.ndarray, demos: Demonstrations) -> tuple[np.ndarray, np.ndarray]:
    P = validate_transitions(P)
    features = _check_features(features, P.shape[0])
    if not isinstance(demos, Demonstrations) or demos.actions.shape[1] < 1:
        raise ValueError("demos must be Demonstrations with at least one step")
    if demos.states.min() < 0 or demos.states.max() >= P.shape[0] or demos.actions.min() < 0 \
            or demos.actions.max() >= P.shape[1]:
        raise ValueError("demos hold state or action indices outside the MDP")
    return P, features


def _log_likelihood_and_grad(P: np.ndarray, features: np.ndarray, demos: Demonstrations, theta: np.ndarray
                             ) -> tuple[float, np.ndarray]:
    horizon, n_s, k = demos.actions.shape[1], P.shape[0], features.shape[1]
    _, _, pi = _partition(P, features @ theta, horizon, 1.0)
    M = np.zeros((n_s, k))                       # M_t+1(s) = d V_t+1(s) / d theta; 0 after the last step
    dQ = np.empty((horizon, n_s, P.shape[1], k))
    dV = np.empty((horizon, n_s, k))
    for t in range(horizon - 1, -1, -1):
        dQ[t] = features[:, None, :] + np.einsum("sap,pk->sak", P, M)
        dV[t] = M = np.einsum("sa,sak->sk", pi[t], dQ[t])
    t, s, a = np.arange(horizon)[None, :], demos.states[:, :-1], demos.actions
    with np.errstate(divide="ignore"):
        value = float(np.log(pi[t, s, a]).sum(axis=1).mean())
    return value, (dQ[t, s, a] - dV[t, s]).sum(axis=1).mean(axis=0)


def log_likelihood_and_grad(P: np.ndarray, features: np.ndarray, demos: Demonstrations, theta: np.ndarray
                            ) -> tuple[float, np.ndarray]:
    """Mean causal log-likelihood of the demonstrations, (1/N) sum_n sum_t log pi_t(a_t | s_t) under the
    soft-optimal policy for r = features @ theta (Ziebart, Bagnell & Dey 2010), and its exact gradient [K].

    With Q_t(s, a) = r(s) + E_s'[V_t+1(s')] and V_t = log sum_a exp Q_t, the gradient is
    sum_t (dQ_t(s_t, a_t) - dV_t(s_t)), where dV_t(s) = sum_a pi_t(a|s) dQ_t(s, a) are the expected future feature
    counts from s and dQ_t(s, a) = phi(s) + E_s'[dV_t+1(s')]. Summed, this is mu_E - mu_theta over the decision
    steps plus sum_t (E_s'[dV_t+1(s') | s_t, a_t] - dV_t+1(s_t+1)): a term with zero mean that vanishes only for
    deterministic dynamics, where the likelihood and the feature-matching (MCE dual) objective coincide.
    """
    P, features = _check_demos(P, features, demos)
    return _log_likelihood_and_grad(P, features, demos, validation.finite_vector(theta, "theta", features.shape[1]))


@dataclass(frozen=True)
class MLFit:
    """Result of ``max_likelihood_irl``: ``theta`` [K], the mean log-likelihood per demonstration, the largest
    |gradient| over the free weights at the end, L-BFGS iterations, and whether it met the tolerance."""

    theta: np.ndarray
    log_likelihood: float
    grad_max: float
    iterations: int
    converged: bool


def max_likelihood_irl(P: np.ndarray, features: np.ndarray, demos: Demonstrations,
                       fixed: dict[int, float] | None = None, theta0: np.ndarray | None = None,
                       gtol: float = 1e-7) -> MLFit:
    """Maximum-likelihood reward weights: maximise ``log_likelihood_and_grad`` with L-BFGS (scipy) to ``gtol``.

    ``fixed`` maps weight indices to values held constant (default ``{0: 0.0}``: the first weight is the reference,
    which removes the constant-shift direction the likelihood cannot see when all features sum to one). Fixing one
    more weight gives its profile likelihood (``profile_interval``).
    """
    P, features = _check_demos(P, features, demos)
    k = features.shape[1]
    fixed = {0: 0.0} if fixed is None else {int(i): float(v) for i, v in fixed.items()}
    if any(not 0 <= i < k for i in fixed) or not all(np.isfinite(v) for v in fixed.values()) or len(fixed) >= k:
        raise ValueError(f"fixed must map some (not all) of the {k} weight indices to finite values, got {fixed}")
    free = np.array([i for i in range(k) if i not in fixed])
    full = np.zeros(k) if theta0 is None else validation.finite_vector(theta0, "theta0", k).astype(float).copy()
    for i, v in fixed.items():
        full[i] = v

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        full[free] = x
        value, grad = _log_likelihood_and_grad(P, features, demos, full)
        return -value, -grad[free]

    res = optimize.minimize(negative, full[free].copy(), jac=True, method="L-BFGS-B",
                            options={"gtol": gtol, "ftol": 1e-15, "maxiter": 500})
    full[free] = res.x
    value, grad = _log_likelihood_and_grad(P, features, demos, full)
    grad_max = float(np.abs(grad[free]).max())
    return MLFit(theta=full.copy(), log_likelihood=value, grad_max=grad_max, iterations=int(res.nit),
                 converged=grad_max <= 10 * gtol)


def likelihood_ratio_statistic(P: np.ndarray, features: np.ndarray, demos: Demonstrations, index: int, value: float,
                               reference: int = 0, best: MLFit | None = None) -> float:
    """2N (L_max - max_{other weights} L) with weight ``index`` held at ``value`` (and ``reference`` at 0): the
    profile likelihood-ratio statistic, chi-square(1) under the hypothesis that ``value`` is the true weight (Wilks).
    ``best`` is the unrestricted fit (``max_likelihood_irl(..., fixed={reference: 0.0})``), computed if omitted."""
    P, features = _check_demos(P, features, demos)
    _check_index_pair(index, reference, features.shape[1])
    if best is None:
        best = max_likelihood_irl(P, features, demos, fixed={reference: 0.0})
    return _lr_statistic(P, features, demos, index, float(value), reference, best)


def _check_index_pair(index: int, reference: int, k: int) -> None:
    if not (0 <= int(index) < k and 0 <= int(reference) < k and int(index) != int(reference)):
        raise ValueError(f"index and reference must be two different weight indices below {k}")


def _lr_statistic(P: np.ndarray, features: np.ndarray, demos: Demonstrations, index: int, value: float,
                  reference: int, best: MLFit) -> float:
    fit = max_likelihood_irl(P, features, demos, fixed={reference: 0.0, index: value}, theta0=best.theta)
    return 2 * demos.n * (best.log_likelihood - fit.log_likelihood)


def profile_interval(P: np.ndarray, features: np.ndarray, demos: Demonstrations, index: int,
                     level: float = 0.95, reference: int = 0, search: float = 25.0) -> tuple[float, float]:
    """Profile-likelihood interval for weight ``index`` (relative to weight ``reference``, held at 0).

    The interval is every value w whose likelihood-ratio statistic (``likelihood_ratio_statistic``) stays below the
    chi-square(1) quantile at ``level`` (3.84 at 95 %; Wilks' theorem). A side on which the statistic never reaches
    it within ``search`` of the estimate is reported as -inf or +inf: the data do not bound it.
    """
    P, features = _check_demos(P, features, demos)
    _check_index_pair(index, reference, features.shape[1])
    if not 0.0 < float(level) < 1.0 or not float(search) > 0.0:
        raise ValueError("level must lie in (0, 1) and search must be positive")
    best = max_likelihood_irl(P, features, demos, fixed={reference: 0.0})
    threshold = float(stats.chi2.ppf(level, 1))

    def excess(w: float) -> float:
        return _lr_statistic(P, features, demos, index, w, reference, best) - threshold

    centre = float(best.theta[index])
    ends = []
    for sign in (-1.0, 1.0):
        far = centre + sign * float(search)
        ends.append(optimize.brentq(excess, centre, far, xtol=1e-6) if excess(far) > 0 else sign * np.inf)
    return ends[0], ends[1]


# --------------------------------------------------------------------------------- the notebook's scenario
# Start top left, goal bottom right; a lava river with a water ford in the middle: the expert wades through
# the water (mildly bad) rather than walking round (longer) and never steps in lava (very bad).
NOTEBOOK_LAYOUT: tuple[str, ...] = (
    ".......",
    "...L...",
    "S..W..G",
    "...L...",
    ".......",
)
# One weight per cell type (floor, goal, lava, water): the reward the expert optimises.
TRUE_THETA: np.ndarray = np.array([-0.5, 3.0, -6.0, -3.0])
TRUE_THETA.setflags(write=False)


@dataclass(frozen=True)
class IRLExperiment:
    """One run of the notebook's pipeline: expert -> demonstrations -> maximum-likelihood IRL -> re-optimised
    learner."""

    world: GridWorld
    horizon: int
    demos: Demonstrations
    expert_pi: np.ndarray
    expert_occupancy: np.ndarray      # exact D of the expert's policy
    demo_occupancy: np.ndarray        # empirical D of the demonstrations
    theta: np.ndarray                 # recovered weights (floor fixed at 0)
    learner_pi: np.ndarray
    learner_occupancy: np.ndarray     # exact D of the soft-optimal policy for the recovered reward
    distance: float                   # TV(expert D, learner D)
    fit: MLFit


def irl_experiment(n_demos: int = 50, slip: float = 0.1, horizon: int = 12, seed: int = 0,
                   layout: tuple[str, ...] = NOTEBOOK_LAYOUT,
                   true_theta: np.ndarray = TRUE_THETA) -> IRLExperiment:
    """Sample ``n_demos`` demonstrations of the soft-optimal expert for ``true_theta`` and recover theta by
    maximum likelihood (``max_likelihood_irl``, run to convergence, floor weight fixed at 0)."""
    horizon = validation.positive_int(horizon, "horizon")
    world = make_gridworld(layout, slip=slip)
    F = world.features
    _, _, expert_pi = _partition(world.P, F @ np.asarray(true_theta, dtype=float), horizon, 1.0)
    _, expert_D = _occupancy(world.P, expert_pi, world.init_dist, 1.0)
    demos = sample_demonstrations(world.P, expert_pi, world.init_dist, n_demos, rng=seed)
    demo_D = empirical_occupancy(demos.states, world.n_states)
    fit = max_likelihood_irl(world.P, F, demos)
    _, _, learner_pi = _partition(world.P, F @ fit.theta, horizon, 1.0)
    _, learner_D = _occupancy(world.P, learner_pi, world.init_dist, 1.0)
    return IRLExperiment(world=world, horizon=horizon, demos=demos, expert_pi=expert_pi, expert_occupancy=expert_D,
                         demo_occupancy=demo_D, theta=fit.theta, learner_pi=learner_pi,
                         learner_occupancy=learner_D, distance=visitation_distance(expert_D, learner_D), fit=fit)


def relative_reward(world: GridWorld, theta: np.ndarray) -> np.ndarray:
    """State reward F theta minus the floor weight: rewards are only identified up to a constant shift, so
    heatmaps compare rewards relative to an ordinary floor cell."""
    theta = np.asarray(theta, dtype=float)
    return world.features @ (theta - theta[world.feature_names.index("floor")])


# -------------------------------------------------------------------------------------------- the demo
_DEMO_DEFAULTS = {"n_demos": 20, "slip": 0.1, "horizon": 12}


@lru_cache(maxsize=256)
def _cached_experiment(n_demos: int, slip: float, horizon: int) -> IRLExperiment:
    return irl_experiment(n_demos=n_demos, slip=slip, horizon=horizon, seed=0)


def irl_demo_values(n_demos: int = 20, slip: float = 0.1, horizon: int = 12) -> IRLExperiment:
    """Compute function of ``demo_irl`` (cached: each slider setting runs MaxEnt IRL once)."""
    return _cached_experiment(int(n_demos), round(float(slip), 2), int(horizon))


def setup_irl(fig) -> dict:
    """Static part of the demo: four heatmaps (true / recovered reward, expert / learner visitation)."""
    world = make_gridworld(NOTEBOOK_LAYOUT)
    axes = fig.axes
    zeros = np.zeros(world.n_states)
    lim = 6.0
    arts: dict = {}
    for key, ax, title, cmap, vmax in (
        ("true_r", axes[0], "true reward (rel. to floor)", "RdBu", lim),
        ("rec_r", axes[1], "recovered reward", "RdBu", lim),
        ("exp_D", axes[2], "expert visitation", "viridis", 0.25),
        ("lrn_D", axes[3], "learner visitation", "viridis", 0.25),
    ):
        a = draw_grid(ax, world, values=zeros, title=title, cmap=cmap,
                      vmin=-lim if cmap == "RdBu" else 0.0, vmax=vmax, markers=False)
        a["image"].set_alpha(1.0)
        if key == "true_r":  # static: drawn once into the background
            a["image"].set_data(world.to_grid(relative_reward(world, TRUE_THETA)))
        else:
            arts[key] = a["image"]
    arts["suptitle"] = fig.suptitle("", fontsize=10, color=COLORS["dark"])
    return arts


def draw_irl(artists: dict, result: IRLExperiment, **values) -> None:
    """Update the four heatmaps and the summary line."""
    w = result.world
    artists["rec_r"].set_data(w.to_grid(relative_reward(w, result.theta)))
    norm = result.horizon + 1
    artists["exp_D"].set_data(w.to_grid(result.expert_occupancy / norm))
    artists["lrn_D"].set_data(w.to_grid(result.learner_occupancy / norm))
    th = result.theta - result.theta[0]
    artists["suptitle"].set_text(f"recovered: goal {th[1]:+.1f}, lava {th[2]:+.1f}, water {th[3]:+.1f};  "
                                 f"TV {result.distance:.3f}")


def demo_irl() -> InteractiveFigure:
    """Sliders: number of demonstrations, slip, horizon -> true vs recovered reward, expert vs learner visits."""
    return InteractiveFigure(
        irl_demo_values, draw_irl,
        {"n_demos": int_slider("demonstrations", 1, 200, 1, _DEMO_DEFAULTS["n_demos"], continuous_update=False),
         "slip": float_slider("slip", 0.0, 0.4, 0.05, _DEMO_DEFAULTS["slip"], continuous_update=False),
         "horizon": int_slider("horizon T", 4, 20, 1, _DEMO_DEFAULTS["horizon"], continuous_update=False)},
        setup=setup_irl, ncols=4, width=11.0, height=2.8,
        caption=("Layout as above: start on the left, goal on the right, a lava column with a water ford. Rewards "
                 "relative to floor (true: goal +3.5, lava -5.5, water -2.5); visitation per step; TV = "
                 "total-variation distance between expert and learner visitation."))
