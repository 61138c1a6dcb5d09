"""The command line's hidden Markov models and state-space models (``--model hmm`` / ``lgssm``).

Round trips run ``emkit`` in a subprocess (fit, then predict / score / smooth on the
saved model) and compare with the library; the many bad-input cases run in-process
through :func:`emkit.cli.main`, where a subprocess would only add start-up time.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

import emkit
from emkit.cli import MODEL_KINDS, main
from emkit.cli.data import DataError, read_table

NILE_TOL = "1e-9"


def write_column(path, name, values, fmt="{:g}"):
    path.write_text(name + "\n" + "\n".join(fmt.format(v) for v in values) + "\n")


@pytest.fixture(scope="module")
def quakes(tmp_path_factory):
    """The earthquake counts as a one-column CSV and a 3-state Poisson HMM fitted by `emkit fit`."""
    folder = tmp_path_factory.mktemp("quakes")
    counts = emkit.datasets.load_earthquakes().data[:, 1:2]
    write_column(folder / "earthquakes.csv", "count", counts[:, 0], "{:.0f}")
    result = run_cli(
        "fit", "earthquakes.csv", "--model", "hmm", "--emission", "poisson", "-k", "3",
        "--n-init", "10", "--init", "random", "--tol", "1e-10", "--max-iter", "1000",
        "--random-state", "0", "-o", "quakes.npz", "--plot", "quakes.png", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, counts, result


@pytest.fixture(scope="module")
def sequences(tmp_path_factory):
    """Three sequences of a 2-D, 2-regime series in one CSV, their lengths in a file, and a
    Gaussian HMM fitted by `emkit fit --lengths`."""
    folder = tmp_path_factory.mktemp("sequences")
    rng = np.random.default_rng(5)
    lengths = np.array([40, 25, 35])
    parts = []
    for n in lengths:
        regime = (np.arange(n) // 8) % 2  # switches every 8 steps
        parts.append(np.column_stack([3.0 * regime, -2.0 * regime]) + rng.normal(size=(n, 2)))
    X = np.concatenate(parts)
    np.savetxt(folder / "series.csv", X, delimiter=",", header="a,b", comments="")
    np.savetxt(folder / "lengths.txt", lengths, fmt="%d")
    result = run_cli(
        "fit", "series.csv", "--model", "hmm", "-k", "2", "--covariance-type", "full",
        "--lengths", "lengths.txt", "--random-state", "0", "-o", "g.npz", "-q", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, X, lengths, result


@pytest.fixture(scope="module")
def nile(tmp_path_factory):
    """The Nile flow with four missing years (written as NaN, NA and a blank line) and the
    local-level model fitted by `emkit fit --model lgssm`."""
    folder = tmp_path_factory.mktemp("nile")
    flow = emkit.datasets.load_nile().data[:, 1:2].copy()
    flow[[10, 11, 40, 70], 0] = np.nan
    cells = [f"{v:g}" for v in flow[:, 0]]
    cells[40], cells[70] = "NA", ""  # a blank line inside a one-column file is missing too
    (folder / "nile.csv").write_text("volume\n" + "\n".join(cells) + "\n")
    result = run_cli(
        "fit", "nile.csv", "--model", "lgssm", "--state-dim", "1",
        "--param", "transition_matrix=1", "--param", "observation_matrix=1",
        "--param", "initial_state_covariance=1e7",
        "--learn", "transition_covariance,observation_covariance,initial_state_mean",
        "--accelerate", "squarem", "--tol", NILE_TOL, "--max-iter", "2000",
        "-o", "nile.npz", "--plot", "nile.png", "-q", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, flow, result


def local_level(flow):
    return emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        initial_state_covariance_init=1e7,
        learn=("transition_covariance", "observation_covariance", "initial_state_mean"),
        accelerate="squarem",
        tol=float(NILE_TOL),
        max_iter=2000,
    ).fit(flow)


def pairs(stdout: str) -> dict[str, str]:
    return {
        label.strip(): text.strip()
        for label, text in (line.split(":", 1) for line in stdout.splitlines() if ":" in line)
    }


# -- Poisson HMM on the earthquake counts -------------------------------------------------------
def test_poisson_hmm_fit_reaches_the_known_maximum(quakes):
    folder, counts, result = quakes
    summary = pairs(result.stdout)
    assert summary["model"] == "PoissonHMM, 3 hidden states"
    assert summary["data"] == "earthquakes.csv: 107 samples x 1 features"
    # Zucchini, MacDonald & Langrock (2016): the 3-state maximum is -328.5275
    assert float(summary["log-likelihood"].split()[0]) == pytest.approx(-328.5275, abs=5e-4)
    model = emkit.load(folder / "quakes.npz")
    assert isinstance(model, emkit.PoissonHMM)
    assert sorted(model.rates_.ravel().round(2)) == [13.13, 19.71, 29.71]
    assert f"{model.bic(counts):.4f}" in summary["BIC"]
    assert "transition matrix" in summary and "state means" in summary
    assert (folder / "quakes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_poisson_hmm_predict_is_the_viterbi_path(quakes):
    folder, counts, _ = quakes
    result = run_cli("predict", "quakes.npz", "earthquakes.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    states = np.array(result.stdout.split(), dtype=int)
    model = emkit.load(folder / "quakes.npz")
    np.testing.assert_array_equal(states, model.predict(counts))
    assert set(states) == {0, 1, 2}


def test_poisson_hmm_predict_proba_and_score(quakes):
    folder, counts, _ = quakes
    model = emkit.load(folder / "quakes.npz")
    proba = run_cli("predict", "quakes.npz", "earthquakes.csv", "--proba", cwd=folder)
    assert proba.returncode == 0, proba.stderr
    values = np.loadtxt(proba.stdout.splitlines(), delimiter=",")
    assert values.shape == (107, 3)
    np.testing.assert_allclose(values, model.predict_proba(counts), rtol=1e-8, atol=1e-12)
    score = run_cli("score", "quakes.npz", "earthquakes.csv", cwd=folder)
    assert score.returncode == 0, score.stderr
    scored = pairs(score.stdout)
    assert scored["sequences"] == "1"
    assert float(scored["total log-likelihood"]) == pytest.approx(model.score(counts), rel=1e-9)


# -- Gaussian HMM on several sequences -----------------------------------------------------------
def test_gaussian_hmm_with_lengths_matches_the_library(sequences):
    folder, X, lengths, result = sequences
    assert "series.csv: 100 samples x 2 features, 3 sequences" in result.stdout
    model = emkit.load(folder / "g.npz")
    reference = emkit.GaussianHMM(2, covariance_type="full", random_state=0).fit(X, lengths)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    np.testing.assert_allclose(model.transmat_, reference.transmat_, rtol=1e-10, atol=1e-14)


def test_gaussian_hmm_predict_and_score_use_the_lengths(sequences):
    folder, X, lengths, _ = sequences
    model = emkit.load(folder / "g.npz")
    predicted = run_cli("predict", "g.npz", "series.csv", "--lengths", "lengths.txt", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    np.testing.assert_array_equal(
        np.array(predicted.stdout.split(), dtype=int), model.predict(X, lengths)
    )
    proba = run_cli(
        "predict", "g.npz", "series.csv", "--lengths", "lengths.txt", "--proba", cwd=folder
    )
    assert proba.returncode == 0, proba.stderr
    values = np.loadtxt(proba.stdout.splitlines(), delimiter=",")
    np.testing.assert_allclose(values, model.predict_proba(X, lengths), rtol=1e-8, atol=1e-12)
    # near the sequence breaks the posteriors differ from those of one long sequence
    assert np.abs(values - model.predict_proba(X)).max() > 0.05
    score = run_cli("score", "g.npz", "series.csv", "--lengths", "lengths.txt", cwd=folder)
    assert score.returncode == 0, score.stderr
    scored = pairs(score.stdout)
    assert scored["sequences"] == "3"
    total = float(scored["total log-likelihood"])
    assert total == pytest.approx(model.score(X, lengths), rel=1e-9)
    assert total != pytest.approx(model.score(X), rel=1e-9)  # the sequence breaks count


# -- the local-level model of the Nile --------------------------------------------------------
def test_lgssm_fit_treats_nan_na_and_blank_cells_as_missing(nile):
    folder, flow, result = nile
    summary = pairs(result.stdout)
    assert summary["model"] == "LinearGaussianSSM, state dimension 1"
    assert summary["data"] == "nile.csv: 100 samples x 1 features, 4 missing values"
    assert summary["learned"] == "Q, R, m0"
    model = emkit.load(folder / "nile.npz")
    reference = local_level(flow)
    np.testing.assert_allclose(
        model.observation_covariance_, reference.observation_covariance_, rtol=1e-10
    )
    np.testing.assert_allclose(
        model.transition_covariance_, reference.transition_covariance_, rtol=1e-10
    )
    np.testing.assert_array_equal(model.transition_matrix_, [[1.0]])  # fixed by --param
    assert (folder / "nile.png").stat().st_size > 1000


def test_smooth_writes_means_and_variances_with_a_header(nile):
    folder, flow, _ = nile
    result = run_cli("smooth", "nile.npz", "nile.csv", "-o", "level.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = (folder / "level.csv").read_text().splitlines()
    assert lines[0] == "state_1,var_1"
    values = np.loadtxt(lines[1:], delimiter=",")
    assert values.shape == (100, 2)
    means, covariances = emkit.load(folder / "nile.npz").smooth(flow)
    np.testing.assert_allclose(values[:, 0], means[:, 0], rtol=1e-9)
    np.testing.assert_allclose(values[:, 1], covariances[:, 0, 0], rtol=1e-9)
    # a missing year gets a level too, with a wider posterior than its neighbours
    assert values[40, 1] > max(values[39, 1], values[41, 1])


def test_filter_and_score_of_the_state_space_model(nile):
    folder, flow, _ = nile
    model = emkit.load(folder / "nile.npz")
    filtered = run_cli("smooth", "nile.npz", "nile.csv", "--filter", cwd=folder)
    assert filtered.returncode == 0, filtered.stderr
    lines = filtered.stdout.splitlines()
    assert lines[0] == "state_1,var_1"
    np.testing.assert_allclose(
        np.loadtxt(lines[1:], delimiter=",")[:, 0], model.filter(flow)[0][:, 0], rtol=1e-9
    )
    score = run_cli("score", "nile.npz", "nile.csv", cwd=folder)
    assert score.returncode == 0, score.stderr
    scored = pairs(score.stdout)
    assert scored["missing values"] == "4"
    assert float(scored["total log-likelihood"]) == pytest.approx(model.score(flow), rel=1e-9)


# -- bad input: subprocesses ---------------------------------------------------------------------
def test_bad_input_in_subprocesses(quakes, nile):
    folder, _, _ = quakes
    (folder / "gap.csv").write_text("count\n3\nnan\n4\n")
    cases = [
        (["fit", "earthquakes.csv", "--model", "hmm", "--emission", "poisson", "-k", "2",
          "-o", "m.npz", "--lengths", "nowhere.txt"], ["lengths file not found: nowhere.txt"]),
        (["fit", "gap.csv", "--model", "hmm", "-k", "1", "-o", "m.npz"],
         ["gap.csv line 3", "NaN is not a finite number"]),
        (["fit", "earthquakes.csv", "--model", "hmm", "--emission", "poisson", "-k", "2",
          "--covariance-type", "full", "-o", "m.npz"],
         ["--covariance-type does not apply to --model hmm --emission poisson"]),
        (["smooth", "quakes.npz", "earthquakes.csv"], ["PoissonHMM", "--model lgssm"]),
    ]  # fmt: skip
    for args, fragments in cases:
        assert_one_line_error(run_cli(*args, cwd=folder), *fragments)


# -- bad input: in-process ----------------------------------------------------------------------
def one_line_error(argv, capsys) -> str:
    """Run ``emkit argv`` in-process; assert one line on stderr and a non-zero status."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out = capsys.readouterr()
    assert code != 0, out.out
    assert "Traceback" not in out.err
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("emkit: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def bad(tmp_path_factory, quakes, nile):
    folder = tmp_path_factory.mktemp("bad-models")
    for name in ("quakes.npz", "earthquakes.csv"):
        (folder / name).write_bytes((quakes[0] / name).read_bytes())
    for name in ("nile.npz", "nile.csv"):
        (folder / name).write_bytes((nile[0] / name).read_bytes())
    files = {
        "sum.txt": "50\n50\n",
        "fraction.txt": "50\n2.5\n54.5\n",
        "zero.txt": "107\n0\n",
        "grid.txt": "1,2\n3,4\n",
        "negative.csv": "count\n3\n-1\n4\n",
        "symbols.csv": "0\n1\n2\n3\n2\n1\n0\n1\n",
        "seven.csv": "0\n7\n",
        "half.csv": "0\n1.5\n",
        "controls.csv": "1\n2\n3\n",
        "hundred.csv": "1\n" * 100,
        "inf.csv": "1\n2\ninf\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    assert main(["fit", str(folder / "symbols.csv"), "--model", "hmm", "--emission",
                 "categorical", "-k", "2", "-o", str(folder / "cat.npz"), "-q"]) == 0  # fmt: skip
    return folder


HMM_FIT = ["fit", "earthquakes.csv", "--model", "hmm", "--emission", "poisson", "-k", "2"]
LGSSM_FIT = ["fit", "nile.csv", "--model", "lgssm"]
BAD_CASES = {
    "lengths do not sum to the rows": (
        [*HMM_FIT, "--lengths", "sum.txt"],
        ["sum.txt sums to 100 but", "earthquakes.csv has 107 rows"],
    ),
    "fractional length": ([*HMM_FIT, "--lengths", "fraction.txt"], ["entry 2 is 2.5"]),
    "zero length": ([*HMM_FIT, "--lengths", "zero.txt"], ["entry 2 is 0", "integer >= 1"]),
    "lengths as a grid": ([*HMM_FIT, "--lengths", "grid.txt"], ["one sequence length per line"]),
    "lengths at predict": (
        ["predict", "quakes.npz", "earthquakes.csv", "--lengths", "sum.txt"],
        ["sums to 100"],
    ),
    "negative Poisson count": (
        ["fit", "negative.csv", "--model", "hmm", "--emission", "poisson", "-k", "2"],
        ["Poisson counts must be >= 0"],
    ),
    "negative count at predict": (["predict", "quakes.npz", "negative.csv"], [">= 0"]),
    "symbol out of range": (["predict", "cat.npz", "seven.csv"], ["must be <= 3", "= 7"]),
    "fractional symbol": (["predict", "cat.npz", "half.csv"], ["must be integers", "1.5"]),
    "state-dim missing": (LGSSM_FIT, ["--state-dim is required for --model lgssm"]),
    "state-dim zero": ([*LGSSM_FIT, "--state-dim", "0"], ["--state-dim", "integer >= 1"]),
    "n-components missing for hmm": (
        ["fit", "earthquakes.csv", "--model", "hmm"],
        ["--n-components is required for --model hmm"],
    ),
    "n-components with lgssm": (
        [*LGSSM_FIT, "--state-dim", "1", "-k", "2"],
        ["--n-components does not apply to --model lgssm"],
    ),
    "covariance type with lgssm": (
        [*LGSSM_FIT, "--state-dim", "1", "--covariance-type", "diag"],
        ["--covariance-type does not apply to --model lgssm"],
    ),
    "n-mix with a Gaussian emission": (
        ["fit", "earthquakes.csv", "--model", "hmm", "-k", "2", "--n-mix", "2"],
        ["--n-mix does not apply to --model hmm --emission gaussian"],
    ),
    "emission prior with gmm emission": (
        [
            "fit",
            "earthquakes.csv",
            "--model",
            "hmm",
            "--emission",
            "gmm",
            "-k",
            "2",
            "--emissionprob-prior",
            "1",
        ],
        ["--emissionprob-prior does not apply to --model hmm --emission gmm"],
    ),
    "emission with gmm": (
        ["fit", "earthquakes.csv", "-k", "2", "--emission", "poisson"],
        ["--emission does not apply to --model gmm"],
    ),
    "lengths with gmm": (
        ["fit", "earthquakes.csv", "-k", "2", "--lengths", "sum.txt"],
        ["--lengths does not apply to --model gmm"],
    ),
    "state-dim with hmm": ([*HMM_FIT, "--state-dim", "2"], ["--state-dim does not apply"]),
    "controls for an HMM": (
        ["score", "quakes.npz", "earthquakes.csv", "--controls", "controls.csv"],
        ["--controls does not apply to PoissonHMM models (--model hmm)"],
    ),
    "controls with the wrong number of rows": (
        [*LGSSM_FIT, "--state-dim", "1", "--controls", "controls.csv"],
        ["controls file controls.csv has 3 rows but nile.csv has 100"],
    ),
    "controls the model was not fitted with": (
        ["smooth", "nile.npz", "nile.csv", "--controls", "hundred.csv"],
        ["fitted without control inputs"],
    ),
    "predict with a state-space model": (
        ["predict", "nile.npz", "nile.csv"],
        ["LinearGaussianSSM models have no labels to predict", "emkit smooth"],
    ),
    "smooth with an HMM": (["smooth", "quakes.npz", "earthquakes.csv"], ["no continuous hidden"]),
    "unknown --param name": (
        [*LGSSM_FIT, "--state-dim", "1", "--param", "drift=1"],
        ["--param", "NAME=NUMBER", "'drift=1'"],
    ),
    "unknown --learn name": (
        [*LGSSM_FIT, "--state-dim", "1", "--learn", "drift"],
        ["unknown parameter names ['drift']"],
    ),
    "inf with lgssm": (
        ["fit", "inf.csv", "--model", "lgssm", "--state-dim", "1"],
        ["inf.csv line 3", "inf is not a finite number"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_one_line(bad, capsys, monkeypatch, case):
    argv, fragments = BAD_CASES[case]
    if argv[0] == "fit":
        argv = [*argv, "-o", "out.npz", "-q"]
    monkeypatch.chdir(bad)
    line = one_line_error(argv, capsys)
    for fragment in fragments:
        assert fragment in line, line
    assert not (bad / "out.npz").exists()


# -- in-process: controls, info, options ---------------------------------------------------------
def test_lgssm_with_controls_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(2)
    n = 150
    U = rng.normal(size=(n, 1))
    z = np.cumsum(0.3 * rng.normal(size=n)) + 0.8 * U[:, 0]
    X = (z + 0.5 * rng.normal(size=n))[:, None]
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "u.csv", U, header="u", comments="")
    path = str(tmp_path / "m.npz")
    argv = ["fit", tmp_path / "x.npy", "--model", "lgssm", "--state-dim", "1",
            "--controls", tmp_path / "u.csv", "--random-state", "0", "-o", path, "-q"]  # fmt: skip
    assert main([str(arg) for arg in argv]) == 0, capsys.readouterr().err
    assert "1 control inputs" in capsys.readouterr().out
    model = emkit.load(path)
    reference = emkit.LinearGaussianSSM(1, random_state=0).fit(X, U=U)
    np.testing.assert_allclose(
        model.control_observation_matrix_, reference.control_observation_matrix_, rtol=1e-10
    )
    smoothed = ["smooth", path, str(tmp_path / "x.npy"), "--controls", str(tmp_path / "u.csv")]
    assert main(smoothed) == 0
    lines = capsys.readouterr().out.splitlines()
    means, covariances = model.smooth(X, U=U)
    np.testing.assert_allclose(
        np.loadtxt(lines[1:], delimiter=","),
        np.column_stack([means[:, 0], covariances[:, 0, 0]]),
        rtol=1e-9,
    )
    line = one_line_error(["score", path, str(tmp_path / "x.npy")], capsys)
    assert "fitted with 1 control input(s): give them with --controls FILE" in line


def test_info_shows_the_fitted_parameters(quakes, nile, capsys):
    assert main(["info", str(quakes[0] / "quakes.npz")]) == 0
    out = capsys.readouterr().out
    model = emkit.load(quakes[0] / "quakes.npz")
    for text in ("PoissonHMM", "3 hidden states", "rates", "transition probabilities"):
        assert text in out
    assert f"{model.transmat_[0, 0]:.4f}" in out
    assert main(["info", str(nile[0] / "nile.npz")]) == 0
    out = capsys.readouterr().out
    for text in ("transition_covariance", "no (fixed)", "yes", "P0"):
        assert text in out


def test_other_emissions_fit_predict_and_sample(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = {
        "categorical": rng.integers(0, 4, size=(60, 1)),
        "bernoulli": rng.integers(0, 2, size=(60, 3)),
        "multinomial": rng.multinomial(10, [0.2, 0.3, 0.5], size=60),
        "gmm": rng.normal(size=(60, 2)),
    }
    for emission, X in data.items():
        np.save(tmp_path / f"{emission}.npy", X)
        path = str(tmp_path / f"{emission}.npz")
        extra = ["--n-mix", "2"] if emission == "gmm" else []
        argv = ["fit", str(tmp_path / f"{emission}.npy"), "--model", "hmm", "--emission",
                emission, "-k", "2", "--random-state", "0", "-o", path, "-q", *extra]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        model = emkit.load(path)
        assert type(model).__name__ == {"gmm": "GMMHMM"}.get(
            emission, emission.capitalize() + "HMM"
        )
        capsys.readouterr()
        assert main(["predict", path, str(tmp_path / f"{emission}.npy")]) == 0
        states = np.array(capsys.readouterr().out.split(), dtype=int)
        np.testing.assert_array_equal(states, model.predict(X))
        assert main(["sample", path, "-n", "5", "--random-state", "1"]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 5


def test_every_kind_rejects_the_options_of_the_others(tmp_path, capsys):
    np.savetxt(tmp_path / "d.csv", np.arange(20.0))
    values = {"n_components": "2", "state_dim": "1", "emission": "poisson", "lengths": "x.txt"}
    for name, kind in MODEL_KINDS.items():
        for option in ("n_components", "state_dim", "emission", "lengths"):
            if kind.accepts(option):
                continue
            flag = "--" + option.replace("_", "-")
            argv = ["fit", tmp_path / "d.csv", "--model", name, flag, values[option],
                    "-o", tmp_path / "m.npz"]  # fmt: skip
            assert f"{flag} does not apply to --model {name}" in one_line_error(argv, capsys)


def test_fit_help_names_the_models_of_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--lengths FILE" in out and "[hmm, lgssm]" in out
    assert "--state-dim K" in out and "[lgssm]" in out


# -- the data reader with missing values ---------------------------------------------------------
def test_missing_cells_are_nan_only_when_allowed(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n,3\nNA,n/a\n4,nan\n")
    X = read_table(str(tmp_path / "a.csv"), missing=True).X
    np.testing.assert_array_equal(np.isnan(X), [[0, 0], [1, 0], [1, 1], [0, 1]])
    with pytest.raises(DataError, match=r"line 3, column 1 \('x'\): an empty cell"):
        read_table(str(tmp_path / "a.csv"))
    (tmp_path / "b.csv").write_text("v\n1\n\n3\n\n")  # inner blank line: missing; trailing: not
    np.testing.assert_array_equal(
        read_table(str(tmp_path / "b.csv"), missing=True).X[:, 0], [1, np.nan, 3]
    )
    assert read_table(str(tmp_path / "b.csv")).X.shape == (2, 1)
    np.save(tmp_path / "c.npy", np.array([1.0, np.nan]))
    assert np.isnan(read_table(str(tmp_path / "c.npy"), missing=True).X[1, 0])
    np.save(tmp_path / "d.npy", np.array([1.0, -np.inf]))
    with pytest.raises(DataError, match="-inf is not a finite number"):
        read_table(str(tmp_path / "d.npy"), missing=True)
