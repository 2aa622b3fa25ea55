"""Sensitivity analysis: known answers (Ishigami), replicate noise, windows, bad problems, outputs on disk."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from SALib.test_functions import Ishigami

from loyaltysim import ConfigError
from loyaltysim.analysis import sensitivity as sa
from loyaltysim.analysis.outputs import default_outputs, output_values, parse_output, point_means, variance_table
from loyaltysim.experiments.designs import sample_factors
from loyaltysim.experiments.factors import parse_factors, salib_problem
from loyaltysim.reporting.sensitivity_report import write_result

PI = float(np.pi)
ISHIGAMI = {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)}
# Analytical indices of the Ishigami function (a = 7, b = 0.1)
S1_EXACT = [0.3139, 0.4424, 0.0]
ST_EXACT = [0.5576, 0.4424, 0.2437]


def runs_of(X: np.ndarray, outputs: dict, replicates: int = 1) -> pd.DataFrame:
    """A runs table as a sweep writes it: one row per design point × replicate."""
    n = len(X)
    table = pd.DataFrame(
        {
            "run_id": np.arange(n * replicates),
            "point_id": np.repeat(np.arange(n), replicates),
            "replicate": np.tile(np.arange(replicates), n),
            "status": "ok",
        }
    )
    for name, values in outputs.items():
        table[name] = values
    return table


def values(indices: pd.DataFrame, index: str, output: str = "y") -> pd.Series:
    part = indices[(indices["index"] == index) & (indices["output"] == output)]
    return part.set_index("factor")["value"]


def test_sobol_recovers_ishigami_indices():
    design = sample_factors(ISHIGAMI, "sobol", 1024, seed=3, second_order=False)
    X = design.samples
    assert X.shape == (1024 * 5, 3)
    result = sa.analyse_runs(design, runs_of(X, {"y": Ishigami.evaluate(X)}), outputs=["y"], seed=5)
    assert_allclose(values(result.indices, "S1")[["x1", "x2", "x3"]], S1_EXACT, atol=0.03)
    assert_allclose(values(result.indices, "ST")[["x1", "x2", "x3"]], ST_EXACT, atol=0.03)
    assert (result.indices["conf"] > 0).all()
    assert result.ranking("y")["factor"].tolist() == ["x1", "x2", "x3"]


def test_sobol_second_order_finds_the_x1_x3_interaction():
    design = sample_factors(ISHIGAMI, "sobol", 512, seed=3)  # second order by default
    assert design.options == {"second_order": True} and design.samples.shape == (512 * 8, 3)
    means = pd.DataFrame({"y": Ishigami.evaluate(design.samples)})
    s2 = values(sa.analyse(design, means, seed=1), "S2")
    assert_allclose(s2[["x1 × x2", "x1 × x3", "x2 × x3"]], [0.0, 0.2437, 0.0], atol=0.06)


def test_fast_recovers_ishigami_indices():
    design = sample_factors(ISHIGAMI, "fast", 1000, seed=3)
    X = design.samples
    indices = sa.analyse(design, pd.DataFrame({"y": Ishigami.evaluate(X)}), seed=1)
    assert_allclose(values(indices, "S1")[["x1", "x2", "x3"]], S1_EXACT, atol=0.03)
    assert_allclose(values(indices, "ST")[["x1", "x2", "x3"]], ST_EXACT, atol=0.05)


def test_morris_ranks_a_linear_model_and_gives_sigma_intervals():
    design = sample_factors(
        {"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}, "c": {"low": 0, "high": 1}}, "morris", 20, seed=2
    )
    X = design.samples
    y = 10 * X[:, 0] + X[:, 1] + 3 * X[:, 0] * X[:, 1]
    indices = sa.analyse(design, pd.DataFrame({"y": y}), seed=1)
    mu_star = values(indices, "mu_star")
    assert mu_star.sort_values(ascending=False).index.tolist() == ["a", "b", "c"]
    assert mu_star["c"] == 0.0
    sigma = indices[indices["index"] == "sigma"].set_index("factor")
    assert sigma.loc["a", "value"] > 0 and sigma.loc["a", "conf"] > 0  # a's effect depends on b
    assert sigma.loc["c", "value"] == 0.0


def test_groups_get_one_index_each():
    factors = {**ISHIGAMI, "x1": {**ISHIGAMI["x1"], "group": "g"}, "x3": {**ISHIGAMI["x3"], "group": "g"}}
    design = sample_factors(factors, "sobol", 1024, seed=3, second_order=False)
    assert design.problem["groups"] == ["g", "x2", "g"]
    assert design.samples.shape == (1024 * 4, 3)  # D = 2 groups
    st = values(sa.analyse(design, pd.DataFrame({"y": Ishigami.evaluate(design.samples)}), seed=1), "ST")
    assert_allclose(st[["g", "x2"]], [1 - 0.4424, 0.4424], atol=0.03)


DISTRIBUTIONS = {
    "a": {"dist": "normal", "mean": 2.0, "sd": 0.5},
    "b": {"low": 1, "high": 100, "log": True},
    "c": {"dist": "triangular", "low": 0, "high": 10, "peak": 2},  # peak: the most likely value itself
}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "samples"), [("lhs", 2000), ("sobol", 256), ("fast", 400)])
def test_every_salib_design_samples_the_declared_distributions(method, samples):
    from scipy import stats

    design = sample_factors(DISTRIBUTIONS, method, samples, seed=1)
    assert design.problem["bounds"] == [[0.0, 1.0], [0.0, 2.0], [0.0, 1.0]]  # quantiles, log10, quantiles
    table = design.table()
    laws = {"a": stats.norm(2.0, 0.5), "b": stats.loguniform(1, 100), "c": stats.triang(0.2, loc=0, scale=10)}
    for name, law in laws.items():
        assert stats.kstest(table[name], law.cdf).statistic < 0.05, name
    assert table["c"].mean() == pytest.approx(4.0, abs=0.15)  # (0 + 10 + 2) / 3
    assert np.median(table["b"]) == pytest.approx(10, rel=0.15)  # log-uniform median = sqrt(1 · 100)


def test_morris_samples_the_distributions_quantiles_at_its_levels():
    from scipy import stats

    design = sample_factors(DISTRIBUTIONS, "morris", 10, seed=1, levels=4)
    levels = np.arange(4) / 3
    np.testing.assert_allclose(np.unique(design.table()["c"]), stats.triang(0.2, loc=0, scale=10).ppf(levels))
    assert set(np.round(design.samples[:, 0], 12)) == set(np.round(levels, 12))


def test_replicates_are_averaged_and_noise_is_measured():
    design = sample_factors({"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}}, "sobol", 256, seed=4, second_order=False)
    X = design.samples
    rng = np.random.default_rng(7)
    signal = np.repeat(4 * X[:, 0], 4)
    noisy = signal + rng.normal(0, 1.0, len(signal))
    result = sa.analyse_runs(design, runs_of(X, {"y": noisy}, replicates=4), outputs=["y"], seed=1)
    var = result.variance.set_index("output").loc["y"]
    assert var["replicates"] == 4 and var["points"] == len(X)
    assert var["noise_variance"] == pytest.approx(1.0, rel=0.1)
    assert var["noise_share"] == pytest.approx(1.0 / (16 / 12 + 1.0), rel=0.1)
    assert var["noise_share_of_means"] == pytest.approx(0.25 / (16 / 12 + 0.25), rel=0.15)
    st = values(result.indices, "ST")
    assert st["a"] > 0.7 and st["b"] < 0.25  # noise shows up as a spurious small index of b
    single = variance_table(runs_of(X, {"y": 4 * X[:, 0]}), ["y"])
    assert np.isnan(single.loc[0, "noise_share"])


def test_undefined_or_constant_outputs_are_left_out():
    design = sample_factors({"a": {"low": 0, "high": 1}}, "sobol", 16, seed=1)
    X = design.samples
    y = X[:, 0].copy()
    y[3] = np.nan
    indices = sa.analyse(design, pd.DataFrame({"nan": y, "flat": np.ones(len(X)), "ok": X[:, 0]}), seed=1)
    assert set(indices["output"]) == {"ok"}


def test_convergence_reanalyses_nested_subsets():
    design = sample_factors(ISHIGAMI, "sobol", 256, seed=3, second_order=False)
    means = pd.DataFrame({"y": Ishigami.evaluate(design.samples)})
    trend = sa.convergence_table(design, means, seed=1)
    assert sorted(trend["samples"].unique()) == [16, 32, 64, 128, 256]
    assert set(trend["runs"]) == {n * 5 for n in (16, 32, 64, 128, 256)}
    full = sa.analyse(design, means, num_resamples=100, seed=1)
    last = trend[trend["samples"] == 256].drop(columns=["samples", "runs"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(last, full)
    assert sa.convergence_table(sample_factors(ISHIGAMI, "fast", 100, seed=1), means.iloc[:300]).empty


def test_output_windows_read_runs_and_timeseries():
    runs = pd.DataFrame({"run_id": [0, 1], "point_id": [0, 1], "replicate": [0, 0], "churn_rate": [0.1, 0.2]})
    runs["final_nps"] = [5.0, 6.0]
    ts = pd.DataFrame({"run_id": np.repeat([0, 1], 5), "step": np.tile(np.arange(1, 6), 2), "nps": np.arange(10.0)})
    outputs = [parse_output(o) for o in ("churn_rate", "nps@final", "nps@last3", {"metric": "nps", "window": 2})]
    assert [o.label for o in outputs] == ["churn_rate", "nps@final", "nps@last3", "nps@last2"]
    table = output_values(runs, outputs, ts)
    assert table["churn_rate"].tolist() == [0.1, 0.2]
    assert table["nps@final"].tolist() == [5.0, 6.0]  # final_nps from runs.parquet
    assert table["nps@last3"].tolist() == [3.0, 8.0]
    assert table["nps@last2"].tolist() == [3.5, 8.5]
    sparse = ts[ts["step"] % 2 == 1]
    with pytest.raises(ConfigError, match="every: 1"):
        output_values(runs, [outputs[2]], sparse)
    with pytest.raises(ConfigError, match="did you mean 'churn_rate'"):
        output_values(runs, [parse_output("churn_rat")], ts)
    with pytest.raises(ConfigError, match="@final or @last"):
        parse_output("nps@first")


def test_default_outputs_include_a_firm_share():
    columns = ["churn_rate", "satisfied_defector_share", "mean_satisfaction", "nps", "profit_per_period", "share_A", "share_B"]
    assert [o.metric for o in default_outputs(columns)] == [*columns[:5], "share_A"]


def test_a_design_point_without_runs_is_an_error():
    values_ = pd.DataFrame({"point_id": [0, 2], "replicate": [0, 0], "y": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"design points without a successful run: \[1\]"):
        point_means(values_, ["y"], 3)


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ({}, "design: sobol needs at least one factor"),
        ({"a": {"low": 1, "high": 1}}, r"factors\.a: empty range: low \(1\.0\) must be below high"),
        ({"a": {"low": 2, "high": 1}}, "empty range"),
        ({"a": {"low": "abc", "high": 1}}, r"factors\.a\.low: Input should be a valid number"),
        ({"a": {"low": 0}}, "needs both low and high"),
        ({"a": {"low": 1, "high": 100, "dist": "loguniform"}}, r"factors\.a: dist loguniform .*\{low, high, log: true\}"),
        (
            {"a": {"low": 0, "high": 1, "dist": "truncnormal"}},
            r"factors\.a: dist truncnormal .*\{dist: normal, mean, sd, low, high\}",
        ),
        ({"a": {"low": 0, "high": 1, "dist": "triangular"}}, "needs peak"),
        ({"a": {"low": 0, "high": 1, "dist": "normal"}}, "needs mean and sd"),
        ({"a": {"low": 0, "hihg": 1}}, "unknown key 'hihg' \\(did you mean 'high'\\?\\)"),
    ],
)
def test_bad_factors_are_config_errors(factors, message):
    with pytest.raises(ConfigError, match=message):
        sample_factors(factors, "sobol", 16, seed=1)


@pytest.mark.parametrize(
    ("method", "samples", "options", "message"),
    [
        ("sobol", 100, {}, r"power of two \(e\.g\. 128\), got 100"),
        ("sobol", 4, {}, "N ≥ 8"),
        ("morris", 1, {}, "≥ 2 trajectories"),
        ("morris", 10, {"levels": 3}, "even number of levels"),
        ("fast", 64, {}, r"samples > 4·M² = 64"),
        ("sobl", 64, {}, "did you mean 'sobol'"),
        ("sobol", 64.0, {}, "whole number"),
    ],
)
def test_bad_sample_sizes_are_config_errors(method, samples, options, message):
    problem = salib_problem(parse_factors({"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}}))
    with pytest.raises(ConfigError, match=message):
        sa.check_samples(problem, method, samples, source="study.yaml", **options)


def test_fast_refuses_groups():
    problem = salib_problem(parse_factors({"a": {"low": 0, "high": 1, "group": "g"}, "b": {"low": 0, "high": 1}}))
    with pytest.raises(ConfigError, match="does not support groups"):
        sa.check_samples(problem, "fast", 200)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "samples"), [("sobol", 64), ("morris", 10), ("fast", 80)])
def test_results_on_disk(tmp_path, method, samples):
    design = sample_factors(ISHIGAMI, method, samples, seed=3)
    X = design.samples
    rng = np.random.default_rng(0)
    y = np.repeat(Ishigami.evaluate(X), 2) + rng.normal(0, 0.5, 2 * len(X))
    result = sa.analyse_runs(design, runs_of(X, {"y": y, "y2": np.repeat(X[:, 1], 2)}, 2), outputs=["y", "y2"])
    report = write_result(result, tmp_path)
    stored = pd.read_parquet(tmp_path / "indices.parquet")
    assert list(stored.columns) == ["method", "output", "factor", "index", "value", "conf"]
    pd.testing.assert_frame_equal(stored, result.indices)
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    assert {"indices_y.png", "indices_y2.png"} <= figures
    assert ("morris.png" in figures) == (method == "morris")
    assert ("convergence_y.png" in figures) == (method != "fast")
    text = report.read_text()
    assert text.startswith("# Sensitivity analysis\n") and "## y2" in text and "noise share" in text
    top = text.split("## y2")[1].splitlines()[4]
    assert top.startswith("| 1 | `x2` |")  # y2 depends on x2 only
    for name in figures:
        assert f"](figures/{name})" in text
    page = (tmp_path / "sensitivity.html").read_text()
    assert page.count("data:image/png;base64,") == len(figures) and "<code>x2</code>" in page


def test_only_salib_designs_are_analysed_and_no_figures_means_no_references(tmp_path):
    lhs = sample_factors(ISHIGAMI, "lhs", 20, seed=1)
    with pytest.raises(ConfigError, match="SALib analyses designs sobol, morris, fast, not 'lhs'"):
        sa.analyse(lhs, pd.DataFrame({"y": Ishigami.evaluate(lhs.samples)}))
    design = sample_factors(ISHIGAMI, "morris", 4, seed=1)
    result = sa.analyse_runs(design, runs_of(design.samples, {"y": Ishigami.evaluate(design.samples)}), outputs=["y"])
    text = write_result(result, tmp_path, figures=False).read_text()
    assert "figures/" not in text and not (tmp_path / "figures").exists()
    assert "data:image/png" not in (tmp_path / "sensitivity.html").read_text()


def test_reliability_flags_say_when_not_to_trust_an_index():
    from loyaltysim.analysis.sensitivity import reliability_flags

    rows = [
        ("a", "S1", 0.40, 0.05), ("a", "ST", 0.30, 0.05),  # S1 > ST
        ("b", "S1", -0.20, 0.05), ("b", "ST", 0.10, 0.04),  # negative beyond its interval
        ("c", "S1", 0.10, 0.30), ("c", "ST", 0.20, 0.20),  # wide: ±0.3 at N = 32 → N ≈ 32 · 36 → 2048
        ("d", "S1", 0.30, 0.02), ("d", "ST", 0.35, 0.03),  # fine
    ]  # fmt: skip
    indices = pd.DataFrame(
        [{"method": "sobol", "output": "churn", "factor": f, "index": i, "value": v, "conf": c} for f, i, v, c in rows]
    )
    flags = reliability_flags(indices, 32).set_index("factor")
    assert set(flags.index) == {"a", "b", "c"}
    assert "S1 0.400 > ST 0.300" in flags.loc["a", "problem"]
    assert "S1 -0.200 negative beyond its interval" in flags.loc["b", "problem"]
    assert "wider than ±0.1" in flags.loc["c", "problem"] and flags.loc["c", "samples_needed"] == 2048
    assert np.isnan(flags.loc["a", "samples_needed"])
