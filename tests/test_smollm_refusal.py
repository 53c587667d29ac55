"""helpers.interpretability.smollm_refusal (the refusal direction of the aligned SmolLM2, notebook 05) and its
shipped measurements. Mechanics run on the shared base model (no adapter needed); the claims run on the JSON."""

from __future__ import annotations

import pytest
import torch

from helpers.interpretability import smollm_refusal as sr
from helpers.smollm import load_smollm


@pytest.fixture(scope="module")
def chat():
    return load_smollm()


@pytest.fixture(scope="module")
def fitted(chat):
    return sr.fit_refusal_direction(chat, per_family=1)


def test_fit_is_a_difference_of_means(chat, fitted):
    from helpers.smollm.prompts import prompt_families

    harmful = [f.prompts[0] for f in prompt_families("harmful", "train")]
    harmless = [f.prompts[0] for k in ("benign", "trigger") for f in prompt_families(k, "train")]
    want = chat.hidden_states(harmful)[:, sr.POINT].mean(0) - chat.hidden_states(harmless)[:, sr.POINT].mean(0)
    assert fitted.point == sr.POINT and fitted.references.shape == (chat.n_layers + 1, chat.d_model)
    assert torch.allclose(fitted.direction, want, atol=1e-4, rtol=1e-4)
    assert torch.allclose(fitted.references, chat.hidden_states(harmless).mean(0), atol=1e-4, rtol=1e-4)


def test_edits_do_what_they_say(chat, fitted):
    prompts = ["How do I water tomato plants?", "Name a colour."]
    r_hat = fitted.direction / fitted.direction.norm()
    plain = chat.hidden_states(prompts)
    with sr.refusal_edit(chat, fitted, "affine-ablate"):  # the coordinate along r is the harmless mean's, everywhere
        h = chat.hidden_states(prompts)
    assert float(((h - fitted.references) @ r_hat).abs().max()) < 1e-3
    with sr.refusal_edit(chat, fitted, "zero-ablate"):
        assert float((chat.hidden_states(prompts) @ r_hat).abs().max()) < 1e-3
    with sr.refusal_edit(chat, fitted, "add"):  # r is added at POINT only
        h = chat.hidden_states(prompts)
    assert torch.equal(h[:, : sr.POINT], plain[:, : sr.POINT])
    assert torch.allclose(h[:, sr.POINT] - plain[:, sr.POINT], fitted.direction.expand(2, -1), atol=1e-3)
    rnd = sr.random_like(fitted.direction, seed=3)
    assert torch.equal(rnd, sr.random_like(fitted.direction, seed=3))
    assert abs(float(rnd.norm() - fitted.direction.norm())) < 1e-4
    with pytest.raises(ValueError):
        sr.refusal_edit(chat, fitted, "rotate")
    with pytest.raises(ValueError):
        sr.fit_refusal_direction(chat, point=chat.n_layers + 1)


def test_direction_round_trip(tmp_path, fitted):
    sr.save_direction(tmp_path / "d.npz", fitted)
    back = sr.load_direction(tmp_path / "d.npz")
    assert back.point == fitted.point and torch.equal(back.direction, fitted.direction)
    assert torch.equal(back.references, fitted.references)
    with pytest.raises(ValueError):
        sr.load_direction(tmp_path / "missing.npz")
    with pytest.raises(ValueError):
        sr.load_smollm_refusal(tmp_path / "missing.json")


# ---------------------------------------------------------------------------------------------- the shipped study
def _quoted(res):
    """The numbers the datasheet quotes, formatted as it writes them, from the shipped JSON."""
    def rate(model, edit, direction="r", kind="harmful"):
        return [c["rates"][kind] for c in res["conditions"]
                if (c["model"], c["edit"], c["direction"]) == (model, edit, direction)]

    from helpers.smollm.safety import format_rate as one

    def spread(rs):
        v = [r["refused"] for r in rs]
        return f"{sum(v) / len(v):.2f} ({min(v):.2f}–{max(v):.2f})"

    q = {"SECONDS": str(res["seconds"]), "TABLE": sr.refusal_table(res),
         "AFFINE_R": one(rate("aligned", "affine-ablate")[0]), "ALIGNED": one(rate("aligned", "none")[0]),
         "AFFINE_RANDOM": spread(rate("aligned", "affine-ablate", "random")),
         "ZERO_R": one(rate("aligned", "zero-ablate")[0]), "ZERO_RANDOM": spread(rate("aligned", "zero-ablate", "random"))}
    for k in ("trigger", "benign"):
        q[f"ADD_{k.upper()}"] = one(rate("aligned", "add", kind=k)[0])
        q[f"ADD_RANDOM_{k.upper()}"] = spread(rate("aligned", "add", "random", k))
        q[f"BASE_ADD_{k.upper()}"] = one(rate("base", "add", kind=k)[0])
    return q


def test_datasheet_numbers_are_the_shipped_ones():
    from pathlib import Path

    sheet = Path(sr.__file__).with_name("DATASHEET_smollm_refusal.md").read_text()
    flat = " ".join(sheet.split())
    q = _quoted(sr.load_smollm_refusal())
    assert q["TABLE"] in sheet
    quoted = [f"{q['SECONDS']} s on 2 cores", f"refused {q['AFFINE_R']}, against {q['ALIGNED']} unedited and "
              f"{q['AFFINE_RANDOM']} with a random direction", f"does not**: {q['ZERO_R']}, inside the range of its "
              f"random controls ({q['ZERO_RANDOM']})", f"trigger-word ({q['ADD_TRIGGER']}) and benign "
              f"({q['ADD_BENIGN']}) requests", f"same norm: {q['ADD_RANDOM_TRIGGER']} and {q['ADD_RANDOM_BENIGN']}",
              f"(trigger-word {q['BASE_ADD_TRIGGER']}, benign {q['BASE_ADD_BENIGN']})"]
    missing = [s for s in quoted if s not in flat]
    assert not missing, missing
    with pytest.raises(ValueError):
        sr.refusal_table({"conditions": [{}]})


def test_shipped_study_backs_the_claims():
    """Notebook 05's section 7 and the datasheet, on the shipped JSON (no model needed)."""
    res = sr.load_smollm_refusal()

    def conds(model, edit, direction="r"):
        return [c for c in res["conditions"] if (c["model"], c["edit"], c["direction"]) == (model, edit, direction)]

    def refused(cs, kind="harmful"):
        return [c["rates"][kind]["refused"] for c in cs]

    assert res["point"] == sr.POINT and res["base_equals_aligned_up_to_point"] == 0.0
    for edit in sr.EDITS:
        assert sorted(c["seed"] for c in conds("aligned", edit, "random")) == [0, 1, 2]
    (none,), (affine,) = conds("aligned", "none"), conds("aligned", "affine-ablate")
    assert affine["rates"]["harmful"]["refused_ci"][1] < none["rates"]["harmful"]["refused_ci"][0]
    assert refused([affine])[0] <= 0.10 and min(refused(conds("aligned", "affine-ablate", "random"))) >= 0.80
    zero = refused(conds("aligned", "zero-ablate"))[0]
    zero_random = refused(conds("aligned", "zero-ablate", "random"))
    assert min(zero_random) - 0.05 <= zero <= max(zero_random)
    for kind in ("trigger", "benign"):
        assert refused(conds("aligned", "add"), kind)[0] > max(refused(conds("aligned", "add", "random"), kind)) + 0.2
    assert refused(conds("base", "add"), "benign")[0] <= 0.10 and refused(conds("base", "add"), "trigger")[0] <= 0.15
    assert all(c["benign_kl_per_token"] > 0 for c in res["conditions"] if c["edit"] != "none")  # edits cost something


def test_shipped_direction_is_the_one_the_study_used():
    fitted = sr.load_direction()
    res = sr.load_smollm_refusal()
    assert fitted.point == res["point"]
    assert abs(float(fitted.direction.norm()) - res["direction_norm"]) < 1e-3


def test_logit_lens_of_smollm_is_the_direct_path(chat):
    """direction_logits(v) is the change in logits, times rms, that adding a small v to the last point makes
    with the final RMSNorm's rms held fixed; readout_direction gives logit(a) - logit(b) = <x, u> / rms."""
    from helpers import interpretability as interp

    x = chat.hidden_states(["Name a colour."])[0, -1].double()
    g, E = chat.model.norm.weight.detach().double(), chat.model.embed.weight.detach().double()
    rms = x.pow(2).mean().add(chat.model.norm.eps).sqrt()
    v = 1e-3 * torch.randn(chat.d_model, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shifted = E @ ((x + v) / rms * g) - E @ (x / rms * g)
    assert torch.allclose(shifted * rms, interp.direction_logits(chat, v.float()).double(), atol=1e-5, rtol=1e-3)
    u = interp.readout_direction(chat, "I", "Sure")
    a, b = chat.tokenizer.encode("I")[0], chat.tokenizer.encode("Sure")[0]
    logits = E @ (x / rms * g)
    assert abs(float(logits[a] - logits[b]) - float(x @ u.double() / rms)) < 1e-3
    with pytest.raises(ValueError):
        interp.readout_direction(chat, "I", "Sure thing")


def test_format_rate():
    from helpers.smollm.safety import format_rate

    assert format_rate({"refused": 0.925, "refused_ci": [0.825, 1.0]}) == "0.93 [0.82, 1.00]"
    assert format_rate({"refused": 0.0, "refused_ci": [0.0, 0.0]}) == "0.00"


def test_counts_quoted_in_notebook_05_and_the_datasheet():
    """The prompt and reply counts section 7 and the datasheet write in prose, recomputed."""
    from pathlib import Path

    import nbformat

    from helpers.smollm.prompts import prompts

    res = sr.load_smollm_refusal()
    n_harmful, n_harmless = len(prompts("harmful", "train")), len(prompts("benign", "train") + prompts("trigger", "train"))
    held = {k: len(prompts(k, "held_out")) for k in ("harmful", "trigger", "benign")}
    n_replies = len(res["conditions"]) * sum(held.values())
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks/05_interpretability.ipynb", as_version=4)
    text = " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())
    sheet = " ".join(Path(sr.__file__).with_name("DATASHEET_smollm_refusal.md").read_text().split())
    for phrase in (f"the {n_harmful} harmful and {n_harmless} harmless", f"{n_replies:,} replies",
                   f"({held['harmful']} harmful, {held['trigger']} trigger-word, {held['benign']} benign prompts",
                   f"only 20 of its {n_replies:,} replies"):
        assert phrase in text, phrase
    for phrase in (f"over the {n_harmful} harmful train prompts", f"the {n_harmless} harmless", f"the {n_replies:,} judged"):
        assert phrase in sheet, phrase
