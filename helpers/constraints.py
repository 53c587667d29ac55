"""Constrained MDPs: reward under a safety-cost budget, exactly (LP) and by Lagrangian dynamics (notebook 04).

A constrained MDP (Altman 1999, *Constrained Markov Decision Processes*, ch. 3) asks for a policy that maximises the
expected discounted reward while keeping the expected discounted cost within a budget:

    max_pi  J_r(pi) = E[sum_t gamma^t r(s_t, a_t)]     s.t.   J_c(pi) = E[sum_t gamma^t c(s_t, a_t)] <= b.

**Occupancy measures.** Every stationary policy pi induces the discounted state-action occupancy

    d(s, a) = sum_t gamma^t Pr(s_t = s, a_t = a),                                     (Altman 1999, eq. 3.3)

and the set of occupancies of all policies is exactly the polytope of non-negative d satisfying the flow constraints

    sum_a d(s', a) - gamma sum_{s, a} P(s' | s, a) d(s, a) = mu(s')      for every s'.   (Altman 1999, thm 3.2)

This module uses this **unnormalised** form (no (1 - gamma) factor): sum_{s,a} d(s, a) = 1 / (1 - gamma), and
J_r = sum d r, J_c = sum d c are the discounted returns themselves, in the same units as the budget. The CMDP is then
a linear program in d; an optimal policy is pi(a|s) = d(s, a) / sum_a' d(s, a') (uniform where a state has zero
occupancy: it is never visited, so any choice is optimal). With one binding constraint the optimum may need to
randomise in (at most) one state: it mixes two deterministic policies (Altman 1999, thm 3.8; Puterman 1994).

**Lagrangian.** L(pi, lambda) = J_r(pi) - lambda (J_c(pi) - b). ``lagrangian_cmdp`` alternates entropy-regularised
(soft) policy iteration on the shaped reward r - lambda c with projected dual ascent
lambda <- clip(lambda + eta (J_c - b), 0, lambda_max): the primal-dual scheme of constrained RL (Altman 1999, ch. 3;
Tessler et al. 2019, "Reward Constrained Policy Optimization", arXiv 1805.11074; Paternain et al. 2019, arXiv
1910.13393), with the entropy term making the dual smooth (Geist et al. 2019, arXiv 1901.11275).

**KL-regularised policies.** ``kl_regularized_policy`` is the closed-form maximiser of E_pi[r] - beta KL(pi || pi_ref),
pi*(a) = pi_ref(a) exp(r(a)/beta) / Z (the Gibbs variational principle), the objective behind RLHF's KL penalty
(Ziegler et al. 2019, arXiv 1909.08593; Rafailov et al. 2023, DPO, arXiv 2305.18290, eq. 4).

All transition arrays are P [S, A, S] with rows summing to 1; reward and cost are per state [S] (collected in the
state whatever the action) or per state-action [S, A].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from helpers import validation
from helpers.gridworld import GridWorld, draw_grid, make_gridworld, policy_arrows
from helpers.plotting import COLORS
from helpers.stats import kl_divergence  # KL(p || q) over the last axis, shared with notebook 02
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "InfeasibleBudgetError",
    "CMDPSolution",
    "LagrangianResult",
    "validate_mdp",
    "occupancy_constraints",
    "policy_from_occupancy",
    "occupancy_measure",
    "policy_values",
    "solve_cmdp_lp",
    "min_cost_value",
    "optimal_policy",
    "penalty_sweep",
    "soft_policy",
    "dual_update",
    "lagrangian_cmdp",
    "pareto_frontier",
    "brute_force_cmdp",
    "kl_regularized_policy",
    "kl_budget_beta",
    "kl_divergence",
    "budget_problem_closed_form",
    "solve_budget_problem",
    "kkt_residuals",
    "LAVA_LAYOUT",
    "lava_world",
    "lava_cmdp",
    "RESPONSES",
    "response_bandit",
    "kl_tradeoff",
    "pareto_view",
    "setup_pareto",
    "draw_pareto",
    "demo_pareto",
    "kl_view",
    "setup_kl",
    "draw_kl",
    "demo_kl",
]

_TOL = 1e-8


class InfeasibleBudgetError(ValueError):
    """The cost budget is below the smallest discounted cost any policy can achieve."""

    def __init__(self, budget: float, min_cost: float) -> None:
        self.budget = float(budget)
        self.min_cost = float(min_cost)
        super().__init__(f"budget {budget:.6g} is infeasible: no policy has discounted cost below "
                         f"{min_cost:.6g} (the minimum achievable); raise the budget or pass on_infeasible='flag'")


# --------------------------------------------------------------------------------------------- validation


def _as_sa(name: str, values: np.ndarray, n_s: int, n_a: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape == (n_s,):
        arr = np.repeat(arr[:, None], n_a, axis=1)
    if arr.shape != (n_s, n_a):
        raise ValueError(f"{name} must have shape ({n_s},) or ({n_s}, {n_a}), got {np.shape(values)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def validate_mdp(P: np.ndarray, reward: np.ndarray, cost: np.ndarray | None, init_dist: np.ndarray,
                 discount: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, float]:
    """Check shapes and ranges at the public boundary; return (P, reward [S,A], cost [S,A] or None, mu, gamma)."""
    P = validation.transitions(P)
    n_s, n_a, _ = P.shape
    r = _as_sa("reward", reward, n_s, n_a)
    c = None if cost is None else _as_sa("cost", cost, n_s, n_a)
    mu = validation.probability_vector(init_dist, "init_dist", n_s)
    return P, r, c, mu, validation.discount(discount, allow_one=False)


# --------------------------------------------------------------------------------------------- occupancy


def occupancy_constraints(P: np.ndarray, init_dist: np.ndarray, discount: float) -> tuple[np.ndarray, np.ndarray]:
    """The flow (Bellman-flow) constraints of the occupancy LP as ``A_eq @ d.ravel() = b_eq`` (Altman 1999, thm 3.2).

    Row s' reads sum_a d(s', a) - gamma sum_{s,a} P(s'|s,a) d(s, a) = mu(s'), with d flattened row-major ([S*A],
    index s*A + a). Returns ``A_eq`` [S, S*A] and ``b_eq = mu`` [S] (unnormalised: no (1 - gamma) factor).
    """
    P = validation.transitions(P)
    n_s, n_a, _ = P.shape
    mu = validation.probability_vector(init_dist, "init_dist", n_s)
    gamma = validation.discount(discount, allow_one=False)
    outflow = np.kron(np.eye(n_s), np.ones((1, n_a)))          # [S, S*A]: sum_a d(s', a)
    inflow = P.reshape(n_s * n_a, n_s).T                       # [S, S*A]: sum_{s,a} P(s'|s,a) d(s,a)
    return outflow - gamma * inflow, mu.copy()


def policy_from_occupancy(occupancy: np.ndarray) -> np.ndarray:
    """pi(a|s) = d(s, a) / sum_a' d(s, a'); uniform in states with (numerically) zero occupancy."""
    d = np.asarray(occupancy, dtype=float)
    if d.ndim != 2 or np.any(d < -1e-7):
        raise ValueError(f"occupancy must be a non-negative [S, A] array, got shape {d.shape}")
    d = np.clip(d, 0.0, None)
    mass = d.sum(axis=1, keepdims=True)
    uniform = np.full_like(d, 1.0 / d.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 1e-12, d / np.where(mass > 1e-12, mass, 1.0), uniform)


def _state_occupancy(P: np.ndarray, policy: np.ndarray, mu: np.ndarray, gamma: float) -> np.ndarray:
    P_pi = np.einsum("sa,sat->st", policy, P)
    return np.linalg.solve(np.eye(len(mu)) - gamma * P_pi.T, mu)


def occupancy_measure(P: np.ndarray, policy: np.ndarray, init_dist: np.ndarray, discount: float) -> np.ndarray:
    """Discounted occupancy d(s, a) = sum_t gamma^t Pr(s_t=s, a_t=a) of a stationary ``policy`` [S, A] (exact solve)."""
    P = validation.transitions(P)
    n_s, n_a, _ = P.shape
    policy = validation.probability_rows(policy, "policy", (n_s, n_a), atol=1e-6)
    mu = validation.probability_vector(init_dist, "init_dist", n_s)
    gamma = validation.discount(discount, allow_one=False)
    return _state_occupancy(P, policy, mu, gamma)[:, None] * policy


def policy_values(P: np.ndarray, policy: np.ndarray, reward: np.ndarray, cost: np.ndarray, init_dist: np.ndarray,
                  discount: float) -> tuple[float, float]:
    """Exact discounted (J_r, J_c) of ``policy``: sum_{s,a} d(s,a) r(s,a) and sum d c."""
    P, r, c, mu, gamma = validate_mdp(P, reward, cost, init_dist, discount)
    d = occupancy_measure(P, policy, mu, gamma)
    return float((d * r).sum()), float((d * c).sum())


# --------------------------------------------------------------------------------------------- exact LP


@dataclass(frozen=True)
class CMDPSolution:
    """Result of ``solve_cmdp_lp``. ``feasible=False`` only with ``on_infeasible='flag'``: then the policy is the
    minimum-cost policy (the closest one can get), its cost exceeds the budget, and ``status`` says so."""

    policy: np.ndarray          # [S, A]
    occupancy: np.ndarray       # [S, A], unnormalised (sums to 1 / (1 - gamma))
    reward_value: float         # J_r = sum d r
    cost_value: float           # J_c = sum d c
    budget: float
    multiplier: float           # optimal Lagrange multiplier lambda* of the cost constraint (LP dual)
    feasible: bool
    status: str


def _linprog(objective: np.ndarray, A_eq: np.ndarray, b_eq: np.ndarray, A_ub: np.ndarray | None = None,
             b_ub: np.ndarray | None = None) -> optimize.OptimizeResult:
    return optimize.linprog(objective, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")


def min_cost_value(P: np.ndarray, cost: np.ndarray, init_dist: np.ndarray, discount: float) -> float:
    """The smallest discounted cost any policy achieves: min_d sum d c over the occupancy polytope."""
    P, c, _, mu, gamma = validate_mdp(P, cost, None, init_dist, discount)
    A_eq, b_eq = occupancy_constraints(P, mu, gamma)
    res = _linprog(c.ravel(), A_eq, b_eq)
    if res.status != 0:
        raise RuntimeError(f"min-cost LP failed: {res.message}")
    return float(res.fun)


def solve_cmdp_lp(P: np.ndarray, reward: np.ndarray, cost: np.ndarray, budget: float, init_dist: np.ndarray,
                  discount: float, *, on_infeasible: str = "raise") -> CMDPSolution:
    """The exact constrained-MDP optimum by linear programming over discounted occupancy measures (Altman 1999).

        max_d  sum d r   s.t.  d >= 0,  sum_a d(s',a) - gamma sum_{s,a} P(s'|s,a) d(s,a) = mu(s'),  sum d c <= budget

    (unnormalised occupancy, see the module docstring), solved with scipy's HiGHS. If no policy meets the budget,
    ``on_infeasible='raise'`` (default) raises ``InfeasibleBudgetError`` (a ``ValueError``) naming the minimum
    achievable cost; ``'flag'`` returns the minimum-cost policy with ``feasible=False``. Never a silent wrong policy.
    """
    P, r, c, mu, gamma = validate_mdp(P, reward, cost, init_dist, discount)
    if not np.isfinite(budget):
        raise ValueError(f"budget must be a finite number, got {budget}")
    if on_infeasible not in ("raise", "flag"):
        raise ValueError(f"on_infeasible must be 'raise' or 'flag', got {on_infeasible!r}")
    n_s, n_a = r.shape
    A_eq, b_eq = occupancy_constraints(P, mu, gamma)
    res = _linprog(-r.ravel(), A_eq, b_eq, c.ravel()[None, :], np.array([float(budget)]))
    if res.status == 2:  # infeasible: only the budget can make the flow polytope empty
        min_cost = min_cost_value(P, c, mu, gamma)
        if on_infeasible == "raise":
            raise InfeasibleBudgetError(budget, min_cost)
        # the best reward among minimum-cost policies, flagged
        res = _linprog(-r.ravel(), A_eq, b_eq, c.ravel()[None, :], np.array([min_cost + 1e-9]))
        d = np.clip(res.x.reshape(n_s, n_a), 0.0, None)
        return CMDPSolution(policy_from_occupancy(d), d, float((d * r).sum()), float((d * c).sum()), float(budget),
                            float("inf"), False, f"infeasible: minimum achievable cost {min_cost:.6g} > budget")
    if res.status != 0:
        raise RuntimeError(f"CMDP LP failed: {res.message}")
    d = np.clip(res.x.reshape(n_s, n_a), 0.0, None)
    multiplier = float(-res.ineqlin.marginals[0])  # d(-J_r*)/d(budget) = -lambda*
    binding = abs(float((d * c).sum()) - float(budget)) < 1e-7 * max(1.0, abs(float(budget)))
    return CMDPSolution(policy_from_occupancy(d), d, float((d * r).sum()), float((d * c).sum()), float(budget),
                        max(multiplier, 0.0), True, "optimal (budget binding)" if binding else "optimal (budget slack)")


def brute_force_cmdp(P: np.ndarray, reward: np.ndarray, cost: np.ndarray, budget: float, init_dist: np.ndarray,
                     discount: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Independent check on tiny MDPs: enumerate all A^S deterministic policies, then the best mixture of two.

    The occupancy polytope is the convex hull of the deterministic policies' occupancies, and with one constraint an
    optimum lies on an edge between (at most) two vertices, so max over pairs (i, j) and the largest feasible weight
    gives the exact CMDP value. Returns (value, J_r of every deterministic policy, J_c of each). ``ValueError`` if
    more than 20,000 policies or if the budget is infeasible.
    """
    P, r, c, mu, gamma = validate_mdp(P, reward, cost, init_dist, discount)
    n_s, n_a = r.shape
    if n_a**n_s > 20_000:
        raise ValueError(f"brute force needs A^S <= 20,000 deterministic policies, got {n_a}^{n_s}")
    grids = np.stack(np.meshgrid(*[np.arange(n_a)] * n_s, indexing="ij"), axis=-1).reshape(-1, n_s)
    eye = np.eye(n_a)
    J = np.array([policy_values(P, eye[acts], r, c, mu, gamma) for acts in grids])
    jr, jc = J[:, 0], J[:, 1]
    b = float(budget)
    if jc.min() > b + 1e-9:
        raise ValueError(f"budget {b} is infeasible: the minimum cost is {jc.min():.6g}")
    best = jr[jc <= b + 1e-12].max() if np.any(jc <= b + 1e-12) else -np.inf
    ri, ci = jr[:, None], jc[:, None]
    rj, cj = jr[None, :], jc[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):  # weight on i so that w ci + (1-w) cj = b
        w = np.where(np.abs(ci - cj) > 1e-14, (b - cj) / (ci - cj), np.nan)
    ok = (w >= 0) & (w <= 1)
    mixed = np.where(ok, w * ri + (1 - w) * rj, -np.inf)
    return float(max(best, mixed.max())), jr, jc


def pareto_frontier(P: np.ndarray, reward: np.ndarray, cost: np.ndarray, init_dist: np.ndarray, discount: float,
                    budgets: np.ndarray) -> np.ndarray:
    """Best achievable J_r at each budget (NaN where infeasible): the concave reward-cost Pareto frontier."""
    out = []
    for b in np.asarray(budgets, dtype=float):
        sol = solve_cmdp_lp(P, reward, cost, b, init_dist, discount, on_infeasible="flag")
        out.append(sol.reward_value if sol.feasible else np.nan)
    return np.array(out)


# --------------------------------------------------------------------------------------------- penalties


def optimal_policy(P: np.ndarray, reward: np.ndarray, init_dist: np.ndarray, discount: float,
                   max_iter: int = 1000) -> np.ndarray:
    """An optimal deterministic policy (one-hot [S, A]) for ``reward`` by exact policy iteration (Howard 1960)."""
    P, r, _, mu, gamma = validate_mdp(P, reward, None, init_dist, discount)
    n_s, n_a = r.shape
    acts = np.zeros(n_s, dtype=int)
    rows = np.arange(n_s)
    for _ in range(max_iter):
        V = np.linalg.solve(np.eye(n_s) - gamma * P[rows, acts], r[rows, acts])
        Q = r + gamma * P @ V
        # keep the current action unless another is strictly better (no cycling on ties)
        better = Q.max(axis=1) > Q[rows, acts] + 1e-10
        if not np.any(better):
            break
        acts = np.where(better, Q.argmax(axis=1), acts)
    return np.eye(n_a)[acts]


def penalty_sweep(P: np.ndarray, reward: np.ndarray, cost: np.ndarray, init_dist: np.ndarray, discount: float,
                  penalties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J_r, J_c) of the optimal policy for the fixed penalised reward r - lambda c at each penalty lambda >= 0.

    The naive alternative to a budget: J_c is a step function of lambda (a deterministic optimum changes only at
    breakpoints), so most budgets are hit by no lambda at all.
    """
    P, r, c, mu, gamma = validate_mdp(P, reward, cost, init_dist, discount)
    penalties = np.asarray(penalties, dtype=float)
    if penalties.ndim != 1 or np.any(penalties < 0):
        raise ValueError("penalties must be a 1-D array of non-negative numbers")
    vals = [policy_values(P, optimal_policy(P, r - lam * c, mu, gamma), r, c, mu, gamma) for lam in penalties]
    arr = np.array(vals).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


# --------------------------------------------------------------------------------------------- Lagrangian


def soft_policy(q: np.ndarray, temperature: float) -> np.ndarray:
    """Boltzmann policy softmax(Q / tau) over actions (stable: max subtracted)."""
    z = (q - q.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _soft_policy_iteration(P: np.ndarray, r: np.ndarray, mu: np.ndarray, gamma: float, tau: float,
                           policy: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` rounds of soft policy iteration (Haarnoja et al. 2018, arXiv 1801.01290, lemma 1-2): evaluate the
    entropy-regularised value of ``policy`` exactly, then pi <- softmax(Q / tau)."""
    n_s = r.shape[0]
    for _ in range(steps):
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(policy > 0, policy * np.log(policy), 0.0).sum(axis=1)
        r_pi = (policy * r).sum(axis=1) + tau * ent
        P_pi = np.einsum("sa,sat->st", policy, P)
        V = np.linalg.solve(np.eye(n_s) - gamma * P_pi, r_pi)
        policy = soft_policy(r + gamma * P @ V, tau)
    return policy


def dual_update(lam: float, cost_value: float, budget: float, lr: float, lam_max: float = np.inf) -> float:
    """Projected dual (sub)gradient ascent on the multiplier: lambda <- clip(lambda + lr (J_c - b), 0, lam_max).

    dL/dlambda = -(J_c - b) for L = J_r - lambda (J_c - b); the dual *minimises* over lambda, so lambda grows while
    the cost is over budget and shrinks (never below 0) while it is under.
    """
    return float(np.clip(lam + lr * (cost_value - budget), 0.0, lam_max))


@dataclass(frozen=True)
class LagrangianResult:
    """Trajectory of ``lagrangian_cmdp``: ``lambdas[k]`` is the multiplier used in iteration k (length n+1, the last
    is the final value); ``reward_values``/``cost_values`` are J_r, J_c of the policy of each iteration (length n)."""

    policy: np.ndarray
    reward_value: float
    cost_value: float
    multiplier: float
    lambdas: np.ndarray
    reward_values: np.ndarray
    cost_values: np.ndarray
    occupancy: np.ndarray = field(repr=False)


def lagrangian_cmdp(P: np.ndarray, reward: np.ndarray, cost: np.ndarray, budget: float, init_dist: np.ndarray,
                    discount: float, *, temperature: float = 0.02, lr: float = 0.3, iterations: int = 100,
                    inner_steps: int = 2, lam_init: float = 0.0, lam_max: float = 100.0,
                    dual_update_fn: Callable[..., float] | None = None, kp: float = 0.0,
                    kd: float = 0.0) -> LagrangianResult:
    """Primal-dual soft policy iteration for the CMDP (Altman 1999 ch. 3; Tessler et al. 2019, arXiv 1805.11074).

    Each iteration k: (primal) ``inner_steps`` rounds of entropy-regularised policy iteration on the shaped reward
    r - lambda_k c with temperature tau, warm-started from the previous policy; (dual) lambda_{k+1} =
    clip(lambda_k + lr (J_c(pi_k) - b), 0, lam_max). The entropy term makes the best response unique and continuous in
    lambda, so the dual function is smooth and a small enough ``lr`` converges; its bias on J_r is at most
    tau log|A| / (1 - gamma). ``dual_update_fn(lam, cost_value, budget, lr, lam_max)`` replaces the dual step
    (``dual_update`` by default). ``kp``, ``kd`` > 0 make the multiplier a PID controller (Stooke, Achiam & Abbeel
    2020, arXiv 2007.03964, Algorithm 2, with K_I = lr): the dual step updates the integral I, and
    lambda_{k+1} = clip(I_{k+1} + kp (J_c(pi_k) - b) + kd max(0, J_c(pi_k) - J_c(pi_{k-1})), 0, lam_max); with
    kp = kd = 0 (default) lambda = I, plain dual ascent. Returns the whole trajectory.
    """
    P, r, c, mu, gamma = validate_mdp(P, reward, cost, init_dist, discount)
    if not (temperature > 0 and np.isfinite(temperature)):
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not (lr > 0 and np.isfinite(lr)):
        raise ValueError(f"lr must be > 0, got {lr}")
    if int(iterations) < 1 or int(inner_steps) < 1:
        raise ValueError(f"iterations and inner_steps must be >= 1, got {iterations} and {inner_steps}")
    if not (0 <= lam_init <= lam_max):
        raise ValueError(f"need 0 <= lam_init <= lam_max, got {lam_init} and {lam_max}")
    if not np.isfinite(budget):
        raise ValueError(f"budget must be finite, got {budget}")
    if not (kp >= 0 and kd >= 0 and np.isfinite(kp) and np.isfinite(kd)):
        raise ValueError(f"kp and kd must be finite numbers >= 0, got {kp} and {kd}")
    step = dual_update if dual_update_fn is None else dual_update_fn
    n_s, n_a = r.shape
    policy = np.full((n_s, n_a), 1.0 / n_a)
    lam = integral = float(lam_init)
    lams, jrs, jcs = [lam], [], []
    for _ in range(int(iterations)):
        policy = _soft_policy_iteration(P, r - lam * c, mu, gamma, temperature, policy, int(inner_steps))
        d = _state_occupancy(P, policy, mu, gamma)[:, None] * policy
        jr, jc = float((d * r).sum()), float((d * c).sum())
        rise = max(0.0, jc - jcs[-1]) if jcs else 0.0
        jrs.append(jr)
        jcs.append(jc)
        integral = float(step(integral, jc, float(budget), lr, lam_max))
        lam = float(np.clip(integral + kp * (jc - float(budget)) + kd * rise, 0.0, lam_max))
        lams.append(lam)
    return LagrangianResult(policy, jrs[-1], jcs[-1], lam, np.array(lams), np.array(jrs), np.array(jcs), d)


# --------------------------------------------------------------------------------------------- KL-regularised


def kl_regularized_policy(pi_ref: np.ndarray, reward: np.ndarray, beta: float) -> np.ndarray:
    """pi(a) = pi_ref(a) exp(r(a) / beta) / Z: the maximiser of E_pi[r] - beta KL(pi || pi_ref).

    Gibbs variational principle; the optimum of RLHF's KL-penalised objective (Ziegler et al. 2019, arXiv
    1909.08593; Rafailov et al. 2023, arXiv 2305.18290, eq. 4). ``pi_ref`` and ``reward`` have shape [..., A]
    (broadcast; ``beta`` too, e.g. [n, 1] for n temperatures); each row of ``pi_ref`` is a distribution. Computed in log space (stable for small beta).
    """
    pi_ref = np.asarray(pi_ref, dtype=float)
    reward = np.asarray(reward, dtype=float)
    beta_arr = np.asarray(beta, dtype=float)
    if not np.all(np.isfinite(beta_arr) & (beta_arr > 0)):
        raise ValueError(f"beta must be a finite number > 0 (or an array of them, broadcast), got {beta}")
    if pi_ref.ndim < 1 or np.any(pi_ref < 0) or not np.allclose(pi_ref.sum(axis=-1), 1.0, atol=1e-8):
        raise ValueError("pi_ref must hold probability distributions over the last axis (non-negative, sum 1)")
    if not np.all(np.isfinite(reward)):
        raise ValueError("reward must be finite")
    try:
        pi_ref, reward = np.broadcast_arrays(pi_ref, reward)
    except ValueError as exc:
        raise ValueError(f"pi_ref {pi_ref.shape} and reward {reward.shape} must broadcast") from exc
    with np.errstate(divide="ignore"):
        logits = np.log(pi_ref) + reward / beta_arr
    logits = logits - logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=-1, keepdims=True)


def kl_budget_beta(pi_ref: np.ndarray, reward: np.ndarray, epsilon: float,
                   log10_bounds: tuple[float, float] = (-4.0, 3.0)) -> float:
    """The beta whose KL-regularised policy spends exactly ``epsilon`` nats: KL(pi_beta || pi_ref) = epsilon.

    beta is the multiplier of the KL budget (the Lagrangian reading of section 5 of notebook 04). KL(pi_beta ||
    pi_ref) falls as beta grows, so the root is unique; it is found by Brent's method on log10 beta within
    ``log10_bounds``. A budget outside the KL range those bounds reach raises ``ValueError``.
    """
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon}")
    lo, hi = (float(b) for b in log10_bounds)
    if not lo < hi:
        raise ValueError(f"log10_bounds must be increasing, got {log10_bounds}")

    def excess(log10_beta: float) -> float:
        return float(kl_divergence(kl_regularized_policy(pi_ref, reward, 10**log10_beta), pi_ref)) - float(epsilon)

    if not excess(lo) > 0 > excess(hi):
        raise ValueError(f"a KL of {epsilon} nats is not reached for beta in [1e{lo:g}, 1e{hi:g}]")
    return float(10 ** optimize.brentq(excess, lo, hi))


# --------------------------------------------------------------------------------------------- parameter problem


def _check_budget_problem(a: np.ndarray, Q: np.ndarray, budget: float) -> tuple[np.ndarray, np.ndarray, float]:
    a, Q = np.asarray(a, dtype=float), np.asarray(Q, dtype=float)
    if a.ndim != 1 or Q.shape != (len(a), len(a)):
        raise ValueError(f"a must be [n] and Q [n, n], got {a.shape} and {Q.shape}")
    if not np.allclose(Q, Q.T) or np.linalg.eigvalsh(Q).min() <= 0:
        raise ValueError("Q must be symmetric positive definite")
    if not (np.isfinite(budget) and budget > 0):
        raise ValueError(f"budget must be > 0, got {budget}")
    if not np.any(a):
        raise ValueError("a must be non-zero")
    return a, Q, float(budget)


def budget_problem_closed_form(a: np.ndarray, Q: np.ndarray, budget: float) -> tuple[np.ndarray, float]:
    """max_theta a.theta  s.t.  theta^T Q theta <= b: theta* = sqrt(b) Q^-1 a / sqrt(a^T Q^-1 a), and the KKT multiplier
    lambda* = sqrt(a^T Q^-1 a) / (2 sqrt(b)) of the (always binding) constraint (Boyd & Vandenberghe 2004, sec. 5.5.3)."""
    a, Q, b = _check_budget_problem(a, Q, budget)
    Qinv_a = np.linalg.solve(Q, a)
    norm = float(np.sqrt(a @ Qinv_a))
    return np.sqrt(b) * Qinv_a / norm, norm / (2 * np.sqrt(b))


def solve_budget_problem(a: np.ndarray, Q: np.ndarray, budget: float, *, flip_sign: bool = False,
                         x0: np.ndarray | None = None, maxiter: int = 100) -> optimize.OptimizeResult:
    """Solve max a.theta s.t. theta^T Q theta <= b with ``scipy.optimize.minimize(method='SLSQP')``.

    scipy's convention: minimise, and an ``'ineq'`` constraint means fun(theta) >= 0. So the objective is -a.theta and
    the constraint is b - theta^T Q theta >= 0. ``flip_sign=True`` writes theta^T Q theta - b >= 0 instead (the
    common mistake): the feasible set becomes the *outside* of the ellipsoid and the problem is unbounded.
    """
    a, Q, b = _check_budget_problem(a, Q, budget)
    sign = -1.0 if flip_sign else 1.0
    cons = {"type": "ineq", "fun": lambda t: sign * (b - t @ Q @ t), "jac": lambda t: sign * (-2 * Q @ t)}
    x0 = np.zeros_like(a) if x0 is None else np.asarray(x0, dtype=float)
    return optimize.minimize(lambda t: -(a @ t), x0, jac=lambda t: -a, constraints=[cons], method="SLSQP",
                             options={"maxiter": int(maxiter), "ftol": 1e-12})


def kkt_residuals(a: np.ndarray, Q: np.ndarray, budget: float, theta: np.ndarray, lam: float) -> dict[str, float]:
    """KKT conditions of min -a.theta s.t. g(theta) = theta^T Q theta - b <= 0, with multiplier ``lam``:
    stationarity |-a + 2 lam Q theta|, primal feasibility max(g, 0), dual feasibility max(-lam, 0), complementary
    slackness |lam g|. All are 0 at the optimum (Karush 1939; Kuhn & Tucker 1951)."""
    a, Q, b = _check_budget_problem(a, Q, budget)
    theta = np.asarray(theta, dtype=float)
    g = float(theta @ Q @ theta - b)
    return {"stationarity": float(np.linalg.norm(-a + 2 * lam * Q @ theta)), "primal_feasibility": max(g, 0.0),
            "dual_feasibility": max(-float(lam), 0.0), "complementary_slackness": abs(float(lam) * g)}


# --------------------------------------------------------------------------------------------- notebook MDP

# Three routes from S to G: straight through two lava cells (7 steps), along the bottom through one (9 steps), or
# round the top wall with no lava at all (13 steps).
LAVA_LAYOUT: tuple[str, ...] = (
    "........",
    ".######.",
    ".######.",
    "S..LL..G",
    "...L....",
)


def lava_world(slip: float = 0.1) -> GridWorld:
    """The notebook's gridworld: ``LAVA_LAYOUT`` with ``slip``, goal absorbing."""
    return make_gridworld(LAVA_LAYOUT, slip=slip)


def lava_cmdp(world: GridWorld) -> tuple[np.ndarray, np.ndarray]:
    """State reward 1 in the goal (collected every step once there), state cost 1 on lava: (reward [S], cost [S])."""
    names = list(world.feature_names)
    return world.features[:, names.index("goal")].copy(), world.features[:, names.index("lava")].copy()


# --------------------------------------------------------------------------------------------- KL bandit

RESPONSES: tuple[str, ...] = ("refuse", "hedge", "brief", "helpful", "detailed", "flattering")


def response_bandit() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-step 'language model' over six response styles (``RESPONSES``): (reference probabilities, a reward
    model's scores, the true value people would assign). The reward model over-rates the rare flattering answer:
    a proxy flaw that the KL penalty keeps in check."""
    pi_ref = np.array([0.10, 0.25, 0.30, 0.25, 0.09, 0.01])
    proxy = np.array([-1.0, 0.0, 0.5, 1.2, 1.4, 2.5])
    true = np.array([-1.0, 0.0, 0.5, 1.2, 1.3, -1.0])
    return pi_ref, proxy, true


# --------------------------------------------------------------------------------------------- demos

_DISCOUNT = 0.9


def _pareto_table(slip: float = 0.1) -> dict:
    world = lava_world(slip)
    r, c = lava_cmdp(world)
    lo = min_cost_value(world.P, c, world.init_dist, _DISCOUNT)
    hi = solve_cmdp_lp(world.P, r, c, 1e6, world.init_dist, _DISCOUNT).cost_value
    budgets = np.round(np.arange(0.0, max(1.5, hi) + 1e-9, 0.05), 10)
    sols = [solve_cmdp_lp(world.P, r, c, b, world.init_dist, _DISCOUNT, on_infeasible="flag") for b in budgets]
    lams = np.linspace(0.0, 2.0, 41)
    pr, pc = penalty_sweep(world.P, r, c, world.init_dist, _DISCOUNT, lams)
    return {"world": world, "budgets": budgets, "sols": sols, "min_cost": lo, "max_cost": hi,
            "penalty_rewards": pr, "penalty_costs": pc}


def setup_pareto(fig, table: dict) -> dict:
    ax, axg = fig.axes
    b = table["budgets"]
    feas = np.array([s.feasible for s in table["sols"]])
    rv = np.array([s.reward_value for s in table["sols"]])
    ax.plot(b[feas], rv[feas], color=COLORS["true"], label="LP optimum (any budget)")
    ax.plot(table["penalty_costs"], table["penalty_rewards"], "o", color=COLORS["proxy"], ms=5,
            label="fixed penalty λ, optimal policy")
    ax.axvspan(-1, table["min_cost"], color=COLORS["bad"], alpha=0.12, lw=0)
    ax.set_xlim(-0.05 * b[-1], b[-1])
    ax.set_ylim(rv[feas].min() - 0.3, rv.max() + 0.3)
    ax.set_xlabel("discounted lava cost J_c")
    ax.set_ylabel("discounted reward J_r")
    ax.legend(loc="lower right")
    world = table["world"]
    sol = table["sols"][0]
    grid = draw_grid(axg, world, values=sol.occupancy.sum(axis=1), policy=sol.policy, cmap="magma", vmin=0,
                     vmax=2.0, markers=False,
                     title="LP policy and occupancy (■ lava ● start ★ goal)")
    # cell markers as three scatter layers (text glyphs are too slow to redraw on every slider move)
    overlay = []
    for char, marker, colour, size in (("L", "s", COLORS["bad"], 60), ("S", "o", "white", 50), ("G", "*", COLORS["good"], 130)):
        rc = np.array([world.cell(s) for s in world.cells_of(char)], dtype=float).reshape(-1, 2)
        overlay.append(axg.scatter(rc[:, 1] - 0.3, rc[:, 0] - 0.28, marker=marker, s=size, c=colour,
                                   edgecolors="white", linewidths=0.6, zorder=3))
    budget_line = ax.axvline(0.0, color=COLORS["dark"], ls="--", lw=1)
    point, = ax.plot([], [], "o", color=COLORS["true"], ms=9, mec="white")
    # order matters: artists are redrawn in this order, so the markers and arrows go on top of the heatmap
    return {"image": grid["image"], "overlay": overlay, "arrows": grid["arrows"], "line": budget_line,
            "point": point, "title": ax.set_title("budget 0.00: J_r = 0.00, J_c = 0.00")}


def draw_pareto(artists: dict, sol: CMDPSolution, budget: float, world: GridWorld) -> None:
    budget = sol.budget  # the precomputed budget nearest the slider's value
    artists["line"].set_xdata([budget, budget])
    if sol.feasible:
        artists["point"].set_data([sol.cost_value], [sol.reward_value])
        artists["title"].set_text(f"budget {budget:.2f}: J_r = {sol.reward_value:.2f}, J_c = {sol.cost_value:.2f}")
    else:
        artists["point"].set_data([], [])
        artists["title"].set_text(f"budget {budget:.2f}: infeasible (min cost {sol.cost_value:.2g})")
    artists["image"].set_data(world.to_grid(sol.occupancy.sum(axis=1)))
    artists["arrows"].set_UVC(*policy_arrows(world, sol.policy)[2:])


def pareto_view(table: dict, budget: float) -> CMDPSolution:
    """The precomputed LP solution (``_pareto_table``) whose budget is nearest ``budget``."""
    return table["sols"][int(np.argmin(np.abs(table["budgets"] - budget)))]


def demo_pareto() -> InteractiveFigure:
    """Budget slider: the LP optimum on the reward-cost frontier, its occupancy and policy on the grid."""
    table = _pareto_table()
    return InteractiveFigure(functools.partial(pareto_view, table), functools.partial(draw_pareto, world=table["world"]),
                             {"budget": float_slider("cost budget b", 0.0, float(table["budgets"][-1]), 0.05, 0.6)},
                             setup=functools.partial(setup_pareto, table=table), ncols=2, width=9.0, height=3.5)


def kl_tradeoff(log10_betas: np.ndarray) -> dict[str, np.ndarray]:
    """For the response bandit at each beta = 10**log10_beta: the KL-regularised policy, its KL to the reference, its
    expected proxy (reward-model) score and its expected true value."""
    pi_ref, proxy, true = response_bandit()
    log10_betas = np.asarray(log10_betas, dtype=float)
    if log10_betas.ndim != 1:
        raise ValueError("log10_betas must be a 1-D array")
    pis = kl_regularized_policy(pi_ref[None, :], proxy[None, :], 10.0 ** log10_betas[:, None])
    return {"log10_beta": log10_betas, "policy": pis, "kl": kl_divergence(pis, pi_ref[None, :]),
            "proxy": pis @ proxy, "true": pis @ true}


def kl_view(table: dict, log10_beta: float) -> int:
    """Index of the ``kl_tradeoff`` row whose log10(beta) is nearest ``log10_beta``."""
    return int(np.argmin(np.abs(table["log10_beta"] - log10_beta)))


def setup_kl(fig, table: dict, pi_ref: np.ndarray, proxy: np.ndarray) -> dict:
    """Static parts of the KL demo (the reference policy, both value curves against KL); returns the artists
    that change."""
    pis, kls = table["policy"], table["kl"]
    ax, ax2 = fig.axes
    x = np.arange(len(RESPONSES))
    ax.bar(x - 0.2, pi_ref, width=0.4, color=COLORS["neutral"], label="π_ref")
    bars = ax.bar(x + 0.2, pis[0], width=0.4, color=COLORS["proxy"], label="π_β ∝ π_ref exp(r/β)")
    ax.set_xticks(x, RESPONSES, rotation=30)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("probability")
    ax.legend(loc="upper left")
    ax2.plot(kls, table["proxy"], color=COLORS["proxy"], label="reward-model score")
    ax2.plot(kls, table["true"], color=COLORS["true"], label="true value")
    ax2.set_xlabel("KL(π_β || π_ref)  (nats)")
    ax2.set_ylabel("expected value")
    ax2.set_xlim(-0.1, kls.max() * 1.05)
    ax2.set_ylim(min(table["true"].min(), table["proxy"].min()) - 0.1, proxy.max() + 0.1)
    ax2.legend(loc="upper left")
    p_point, = ax2.plot([], [], "o", color=COLORS["proxy"], ms=8, mec="white")
    t_point, = ax2.plot([], [], "o", color=COLORS["true"], ms=8, mec="white")
    title = ax2.set_title("β = 0.000: KL = 0.00, score 0.00, true 0.00")
    return {"bars": list(bars), "proxy": p_point, "true": t_point, "title": title}


def draw_kl(artists: dict, i: int, log10_beta: float, table: dict) -> None:
    """Update the policy bars, the two markers and the title to row ``i`` of ``table``."""
    pis, kls, log_betas = table["policy"], table["kl"], table["log10_beta"]
    for bar, h in zip(artists["bars"], pis[i], strict=True):
        bar.set_height(h)
    artists["proxy"].set_data([kls[i]], [table["proxy"][i]])
    artists["true"].set_data([kls[i]], [table["true"][i]])
    artists["title"].set_text(f"β = {10 ** log_betas[i]:.3g}: KL = {kls[i]:.2f}, score {table['proxy'][i]:.2f}, "
                              f"true {table['true'][i]:.2f}")


def demo_kl() -> InteractiveFigure:
    """log10(beta) slider: the KL-regularised policy against the reference, and reward-model score and true value
    against KL."""
    pi_ref, proxy, _ = response_bandit()
    table = kl_tradeoff(np.linspace(-2.0, 1.0, 121))
    return InteractiveFigure(functools.partial(kl_view, table), functools.partial(draw_kl, table=table),
                             {"log10_beta": float_slider("log10 β", -2.0, 1.0, 0.025, 0.0)},
                             setup=functools.partial(setup_kl, table=table, pi_ref=pi_ref, proxy=proxy), ncols=2,
                             width=9.0, height=3.4)
