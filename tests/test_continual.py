import numpy as np
import pytest
import torch

from helpers import continual as cl


@pytest.fixture(scope="module")
def tasks():
    return cl.load_digit_tasks(seed=0)


@pytest.fixture(scope="module")
def trained(tasks):
    model = cl.make_mlp(seed=0)
    cl.train_task(model, tasks[0], steps=150)
    return model


def test_tasks_are_a_permutation_of_each_other(tasks):
    a, b = tasks
    assert a.x_train.shape == b.x_train.shape == (1250, 64)
    assert torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.x_train.sort(dim=1).values, b.x_train.sort(dim=1).values)
    assert not torch.equal(a.x_train, b.x_train)
    assert 0.0 <= float(a.x_train.min()) and float(a.x_train.max()) <= 1.0


def test_fisher_equals_a_loop_over_per_sample_gradients(trained, tasks):
    a = tasks[0]
    x, y = a.x_train[:7], a.y_train[:7]
    fisher = cl.fisher_diagonal(trained, x, y)
    manual = {k: torch.zeros_like(p) for k, p in trained.named_parameters()}
    for i in range(7):
        trained.zero_grad()
        torch.log_softmax(trained(x[i:i + 1]), dim=-1)[0, y[i]].backward()
        for k, p in trained.named_parameters():
            manual[k] += p.grad**2 / 7
    for k in manual:
        torch.testing.assert_close(fisher[k], manual[k], rtol=1e-4, atol=1e-7)


def test_batch_mean_fisher_is_much_smaller_at_an_optimum(trained, tasks):
    a = tasks[0]
    per_sample = sum(v.sum() for v in cl.fisher_diagonal(trained, a.x_train, a.y_train).values())
    batch_mean = sum(v.sum() for v in cl.batch_mean_fisher(trained, a.x_train, a.y_train).values())
    assert batch_mean < per_sample / 100  # Jensen, and the mean gradient ~ 0 at the optimum


def test_sampled_fisher_is_reproducible_and_positive(trained, tasks):
    x = tasks[0].x_train[:50]
    f1 = cl.fisher_diagonal(trained, x, mode="sampled", generator=torch.Generator().manual_seed(3))
    f2 = cl.fisher_diagonal(trained, x, mode="sampled", generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(f1[k], f2[k]) for k in f1)
    assert all(float(v.sum()) > 0 for v in f1.values())


def test_ewc_penalty_zero_at_anchor_and_quadratic_around_it(trained, tasks):
    a = tasks[0]
    fisher = cl.fisher_diagonal(trained, a.x_train[:200], a.y_train[:200])
    anchor = {k: v.detach().clone() for k, v in trained.named_parameters()}
    assert cl.ewc_penalty(trained, fisher, anchor, 100.0).item() == 0.0
    direction = {k: torch.randn(v.shape, generator=torch.Generator().manual_seed(1)) for k, v in anchor.items()}
    values = []
    for eps in (0.01, 0.02, 0.04):
        moved = {k: anchor[k] + eps * direction[k] for k in anchor}
        values.append(cl.ewc_penalty(trained, fisher, moved, 100.0).item())  # penalty(theta) vs a moved anchor
    assert values[0] > 0
    np.testing.assert_allclose([values[1] / values[0], values[2] / values[1]], [4.0, 4.0], rtol=1e-4)
    expected = 0.5 * 100.0 * sum(float((fisher[k] * (0.01 * direction[k]) ** 2).sum()) for k in anchor)
    assert values[0] == pytest.approx(expected, rel=1e-5)


def test_ewc_penalty_bad_inputs(trained):
    anchor = {k: v.detach().clone() for k, v in trained.named_parameters()}
    fisher = {k: torch.ones_like(v) for k, v in anchor.items()}
    with pytest.raises(ValueError):
        cl.ewc_penalty(trained, fisher, anchor, -1.0)
    with pytest.raises(ValueError):
        cl.ewc_penalty(trained, {"nope": torch.ones(1)}, anchor, 1.0)
    with pytest.raises(ValueError):
        cl.fisher_diagonal(trained, torch.zeros(3, 64), mode="empirical")
    with pytest.raises(ValueError):
        cl.fisher_diagonal(trained, torch.zeros(3, 64), torch.zeros(3, dtype=torch.long), mode="bogus")


def test_replay_buffer_reservoir_is_uniform():
    counts = np.zeros(100)
    for seed in range(300):
        buf = cl.ReplayBuffer(10, seed=seed)
        buf.add(torch.arange(100.0)[:, None], torch.arange(100))
        _, y = buf.tensors()
        assert len(buf) == 10 and len(set(y.tolist())) == 10
        counts[y.numpy()] += 1
    # each of 100 items kept with probability 0.1: 30 expected per item over 300 runs
    assert counts.min() > 10 and counts.max() < 55 and abs(counts[:50].sum() - counts[50:].sum()) < 300
    with pytest.raises(ValueError):
        cl.ReplayBuffer(0)
    with pytest.raises(ValueError):
        cl.ReplayBuffer(5).tensors()


def test_forgetting_and_its_remedies(tasks, trained):
    a, b = tasks
    results = {}
    for method in ("finetune", "ewc", "replay"):
        model, hist = cl.sequential_run(method, lam=1000.0, tasks=tasks, model_after_a=trained)
        results[method] = (cl.accuracy(model, a.x_test, a.y_test), cl.accuracy(model, b.x_test, b.y_test))
    before = cl.accuracy(trained, a.x_test, a.y_test)
    assert before > 0.93
    assert results["finetune"][0] < before - 0.2          # catastrophic forgetting
    assert results["ewc"][0] > results["finetune"][0] + 0.2  # EWC keeps A ...
    assert results["replay"][0] > results["finetune"][0] + 0.2
    assert min(results["ewc"][1], results["replay"][1]) > 0.8  # ... while learning B
    with pytest.raises(ValueError):
        cl.sequential_run("magic", tasks=tasks, model_after_a=trained)


def test_lm_fisher_and_ewc_penalty_hold_tinychat_in_place():
    from helpers import tinylm

    chat = tinylm.load_tinychat()
    pairs = [(e.prompt, e.response) for e in tinylm.build_corpus(n_per_family=1, seed=3, policy="aligned")
             if e.kind == "harmful"]
    fisher = cl.lm_fisher_diagonal(chat, pairs)
    assert set(fisher) == {k for k, _ in chat.model.named_parameters()}
    assert sum(float(v.sum()) for v in fisher.values()) > 0
    anchor = {k: v.detach().clone() for k, v in chat.model.named_parameters()}
    benign = [(e.prompt, e.response) for e in tinylm.build_corpus(n_per_family=1, seed=4) if e.kind == "benign"]

    def moved(c):
        return sum(float(((p.detach() - anchor[k]) ** 2 * fisher[k]).sum()) for k, p in c.model.named_parameters())

    free = tinylm.finetune(chat, benign, steps=10, lr=3e-3)
    held = tinylm.finetune(chat, benign, steps=10, lr=3e-3,
                           penalty=lambda m: cl.ewc_penalty(m, fisher, anchor, 1e6))
    assert moved(held) < moved(free) / 5
    with pytest.raises(ValueError):
        cl.lm_fisher_diagonal(chat, [])


def test_ewc_view_picks_the_nearest_precomputed_lambda():
    sweep = cl.EWCSweep(np.array([0.0, 1.0, 2.0, 3.0]), np.arange(3), {}, [])
    assert [cl.ewc_view(sweep, v)["i"] for v in (0.0, 0.4, 0.6, 2.9, 5.0)] == [0, 0, 1, 3, 3]
    assert cl.ewc_view(sweep, 1.0)["sweep"] is sweep


def test_minibatch_mean_fisher_is_about_the_fisher_over_the_batch_size():
    """At task A's optimum, squared minibatch-mean gradients (Avalanche-style) give about F/B, the full-batch
    square about 0 (Var(mean of B) = Var(g)/B with a mean gradient near 0)."""
    task_a, _ = cl.load_digit_tasks(seed=0)
    model = cl.make_mlp(seed=0)
    cl.train_task(model, task_a, steps=150)

    def total(f):
        return sum(v.sum().item() for v in f.values())

    f = total(cl.fisher_diagonal(model, task_a.x_train, task_a.y_train))
    full = total(cl.batch_mean_fisher(model, task_a.x_train, task_a.y_train))
    for b in (8, 32):
        mini = total(cl.batch_mean_fisher(model, task_a.x_train, task_a.y_train, batch_size=b))
        assert 0.6 * b < f / mini < 1.4 * b, (b, f / mini)
    assert f / full > 1000
    one = cl.batch_mean_fisher(model, task_a.x_train[:64], task_a.y_train[:64], batch_size=1)
    per_sample = cl.fisher_diagonal(model, task_a.x_train[:64], task_a.y_train[:64])
    torch.testing.assert_close(total(one), total(per_sample), rtol=1e-4, atol=1e-8)
    with pytest.raises(ValueError):
        cl.batch_mean_fisher(model, task_a.x_train, task_a.y_train, batch_size=0)
