import numpy as np
import pytest

from helpers import checks


def ref(x, y=1.0):
    return np.asarray(x) * y


def test_exact_close_mismatch_lines(capsys):
    # floating-point results: one line whether the difference is zero or rounding noise (portable outputs)
    assert checks.check_function(ref, ref, [(1.0,), {"x": [1.0, 2.0], "y": 3.0}])
    out = capsys.readouterr().out
    assert out.count("match (every difference within 1e-6·|expected| + 1e-8)") == 2 and "all 2 cases pass" in out
    assert checks.compare(np.ones(2), np.ones(2)).status == "exact"

    assert checks.check_function(lambda x, y=1.0: ref(x, y) + 1e-9, ref, [(2.0,)])
    assert "case 1: match (every difference within 1e-6·|expected| + 1e-8)" in capsys.readouterr().out
    assert checks.compare(2.0 + 1e-9, 2.0).status == "close"
    assert checks.check_function(lambda x: x + 1e-9, lambda x: x, [(2.0,)], rtol=0.0, atol=1e-6)
    assert "match (every difference within 1e-6)" in capsys.readouterr().out

    # integers, booleans and other objects are equal or not: "exact match"
    assert checks.check_function(lambda n: np.arange(n), lambda n: np.arange(n), [(3,)])
    assert "case 1: exact match" in capsys.readouterr().out
    assert checks.compare("refused", "refused").message == "exact match"

    assert not checks.check_function(lambda x, y=1.0: ref(x, y) + 0.5, ref, [(2.0,)])
    assert "MISMATCH (max difference 0.5)" in capsys.readouterr().out


def test_not_implemented_prints_and_does_not_raise(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    def stub(x, y=1.0):
        raise NotImplementedError()

    assert not checks.check_function(stub, ref, [(1.0,), (2.0,)])
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "Traceback" not in out
    assert checks.use_or_fallback(stub, ref, [(1.0,)]) is ref
    assert "using the reference" in capsys.readouterr().out


def test_learner_exception_is_reported(capsys):
    def buggy(x, y=1.0):
        return x / 0

    assert not checks.check_function(buggy, ref, [(1.0,)])
    assert "raised ZeroDivisionError" in capsys.readouterr().out


def test_shape_mismatch_and_tuples():
    assert checks.compare(np.zeros(3), np.zeros(4)).status == "mismatch"
    assert checks.compare((np.ones(2), 3.0), (np.ones(2), 3.0)).status == "exact"
    assert checks.compare((np.ones(2), 3.0), (np.ones(2), 4.0)).status == "mismatch"
    assert checks.compare(float("nan"), float("nan")).status == "exact"
    assert checks.compare([-np.inf, 1.0], [-np.inf, 1.0]).status == "exact"
    assert checks.compare([np.inf], [-np.inf]).status == "mismatch"


def test_use_or_fallback_keeps_a_correct_learner_function(capsys):
    def mine(x, y=1.0):
        return np.asarray(x) * y

    assert checks.use_or_fallback(mine, ref, [(1.0,), (np.arange(3.0), 2.0)]) is mine
    assert "using your mine" in capsys.readouterr().out


def test_autograder_raises_for_wrong_or_missing(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")

    def stub(x, y=1.0):
        raise NotImplementedError()

    with pytest.raises(AssertionError):
        checks.check_function(stub, ref, [(1.0,)])
    with pytest.raises(AssertionError):
        checks.check_function(lambda x, y=1.0: x + 1, ref, [(1.0,)])
    assert checks.check_function(ref, ref, [(1.0,)])
    assert checks.use_or_fallback(stub, ref, [(1.0,)]) is ref  # downstream cells never raise


def test_bad_arguments():
    with pytest.raises(ValueError):
        checks.check_function(ref, ref, [])
    with pytest.raises(ValueError):
        checks.check_function(None, ref, [(1.0,)])


def test_agreement_classes():
    assert checks.agreement(0.0, 1e-6) == checks.agreement(1e-9, 1e-6) == "close (max difference below 1e-6)"
    assert checks.agreement(4.8e-6, 1e-4) == "close (max difference below 1e-4)"
    assert checks.agreement(3.8e-6, 1e-4) == checks.agreement(4.8e-6, 1e-4)  # kernel noise: same class
    assert checks.agreement(2e-4, 1e-4).startswith("DIFFERENT (max difference 0.0002, bound 1e-4")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            checks.agreement(1e-9, bad)
    with pytest.raises(ValueError):
        checks.agreement(float("nan"), 1e-6)


def test_compare_handles_a_tuple_of_a_number_and_an_array():
    expected = (0.5, np.array([1.0, 2.0]))
    assert checks.compare((0.5, np.array([1.0, 2.0])), expected).status == "exact"
    assert checks.compare((0.5 + 1e-12, np.array([1.0, 2.0])), expected).status == "close"
    assert checks.compare((0.5, np.array([1.0, 2.5])), expected).status == "mismatch"
    assert checks.compare((0.5,), expected).status == "mismatch"
    assert checks.compare((1.0, 2.0), (1.0, 2.0)).status == "exact"   # a tuple of numbers is still one array
