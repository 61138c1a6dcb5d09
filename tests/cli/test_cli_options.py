"""The command line's options for every model kind: fit without -o, --json, --columns (and
the column names a model file keeps), --n-jobs, --accelerate, the state-space short
names, and the defaults shown by --help.

A few runs go through a subprocess (what a user types, and that standard output holds
nothing but the JSON); the rest run in-process through :func:`emkit.cli.main`.
"""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
from test_cli import OLD_FAITHFUL, assert_one_line_error, run_cli

import emkit
from emkit.cli import COMMANDS, build_parser, main
from emkit.io import read_metadata


def run_main(argv, capsys):
    """``emkit argv`` in-process: (exit status, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(argv, capsys) -> str:
    code, out, err = run_main(argv, capsys)
    assert code != 0 and out == ""
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("emkit: error: ")
    return err.strip()


@pytest.fixture(scope="module")
def faithful():
    return emkit.datasets.load_old_faithful().data


@pytest.fixture
def folder(tmp_path):
    """A folder with Old Faithful as given (eruptions,waiting), and with its columns
    swapped between an id column and a text column."""
    shutil.copy(OLD_FAITHFUL, tmp_path / "faithful.csv")
    X = emkit.datasets.load_old_faithful().data
    rows = [f"{i},{w:g},eruption {i},{e:g}" for i, (e, w) in enumerate(X)]
    (tmp_path / "wide.csv").write_text("id,waiting,label,eruptions\n" + "\n".join(rows) + "\n")
    np.savetxt(tmp_path / "bare.csv", np.column_stack([X[:, 1], X[:, 0] * 0, X[:, 0]]), fmt="%g",
               delimiter=",")  # fmt: skip
    return tmp_path


# -- fit without -o ------------------------------------------------------------------------
def test_fit_without_output_prints_the_summary_and_saves_nothing(folder):
    before = set(folder.iterdir())
    result = run_cli("fit", "faithful.csv", "-k", "2", "--random-state", "0", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "log-likelihood:" in result.stdout and "BIC:" in result.stdout
    assert "written:        nothing (give -o MODEL.npz to save the model)" in result.stdout
    assert set(folder.iterdir()) == before


# -- --json ----------------------------------------------------------------------------------
def test_fit_json_is_one_object_on_stdout_and_progress_stays_on_stderr(folder, faithful):
    result = run_cli(
        "fit", "faithful.csv", "-k", "2", "--random-state", "0", "--json", "-o", "m.npz",
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    summary = json.loads(result.stdout)
    expected = {"model", "kind", "data", "converged", "n_iter", "log_likelihood", "bic", "aic"}
    assert expected <= summary.keys()
    assert summary["model"] == "GaussianMixture" and summary["kind"] == "gmm"
    assert summary["data"] == {
        "path": "faithful.csv", "n_samples": 272, "n_features": 2,
        "columns": ["eruptions", "waiting"], "n_sequences": 1, "n_missing": 0, "n_controls": 0,
    }  # fmt: skip
    assert summary["written"] == "m.npz" and summary["figure"] is None
    model = emkit.load(folder / "m.npz")
    assert summary["bic"] == pytest.approx(model.bic(faithful), rel=1e-9)
    assert summary["n_iter"] == model.n_iter_ and summary["converged"] is True


def test_score_and_info_json(folder, faithful, capsys):
    model_path = folder / "m.npz"
    assert run_main(["fit", folder / "faithful.csv", "-k", "2", "-o", model_path, "-q",
                     "--random-state", "0"], capsys)[0] == 0  # fmt: skip
    model = emkit.load(model_path)
    code, out, _ = run_main(["score", model_path, folder / "faithful.csv", "--json"], capsys)
    assert code == 0
    scored = json.loads(out)
    assert scored["n_samples"] == 272
    assert scored["mean_log_likelihood"] == pytest.approx(model.score(faithful), rel=1e-9)
    assert scored["total_log_likelihood"] == pytest.approx(272 * model.score(faithful), rel=1e-9)
    code, out, _ = run_main(["info", model_path, "--json"], capsys)
    assert code == 0
    about = json.loads(out)
    assert about["class"] == "GaussianMixture" and about["columns"] == ["eruptions", "waiting"]
    assert about["n_features"] == 2 and about["hyperparameters"]["n_components"] == 2
    np.testing.assert_allclose(about["parameters"]["means"], model.means_)
    assert {"weights", "covariances"} <= about["parameters"].keys()


def test_json_of_every_model_kind(tmp_path, capsys):
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.repeat([3.0, 12.0], 30))[:, None]
    np.savetxt(tmp_path / "counts.csv", counts, fmt="%d")
    cases = {
        "kmeans": (["--model", "kmeans", "-k", "2"], {"inertia", "mean_squared_distance"}),
        "hmm": (["--model", "hmm", "--emission", "poisson", "-k", "2"],
                {"startprob", "transmat", "state_means", "bic"}),
        "lgssm": (["--model", "lgssm", "--state-dim", "1"],
                  {"learned", "transition_eigenvalues", "observation_covariance"}),
    }  # fmt: skip
    for name, (options, keys) in cases.items():
        path = tmp_path / f"{name}.npz"
        argv = ["fit", tmp_path / "counts.csv", *options, "--json", "-q", "--random-state", "0"]
        code, out, err = run_main([*argv, "-o", path], capsys)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["kind"] == name and keys <= summary.keys(), summary.keys()
        code, out, err = run_main(["score", path, tmp_path / "counts.csv", "--json"], capsys)
        assert code == 0, err
        assert json.loads(out)["n_samples"] == 60
        code, out, err = run_main(["info", path, "--json"], capsys)
        assert code == 0, err
        assert json.loads(out)["parameters"]
    summary = json.loads(run_main(["fit", tmp_path / "counts.csv", *cases["lgssm"][0], "--json",
                                   "-q", "--learn", "Q,R"], capsys)[1])  # fmt: skip
    assert summary["learned"] == ["transition_covariance", "observation_covariance"]
    assert set(summary["transition_eigenvalues"]) == {"real", "imag"}


def test_json_with_a_warning_keeps_stdout_clean(folder, capsys):
    argv = ["fit", folder / "faithful.csv", "-k", "2", "--max-iter", "1", "--tol", "0", "--json"]
    code, out, err = run_main([*argv, "-q", "--random-state", "0"], capsys)
    assert code == 0
    assert json.loads(out)["converged"] is False
    assert err.startswith("emkit: warning: EM did not converge")


# -- --columns ---------------------------------------------------------------------------------
def test_columns_by_name_are_kept_shown_and_reused(folder, faithful, capsys):
    swapped = faithful[:, ::-1]
    fit = run_cli(
        "fit", "wide.csv", "--columns", "waiting,eruptions", "-k", "2", "--random-state", "0",
        "-o", "m.npz", "-q", cwd=folder,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert "wide.csv: 272 samples x 2 features" in fit.stdout
    model = emkit.load(folder / "m.npz")
    reference = emkit.GaussianMixture(2, random_state=0).fit(swapped)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    assert read_metadata(folder / "m.npz")["user"] == {"columns": ["waiting", "eruptions"]}
    info = run_cli("info", "m.npz", cwd=folder)
    assert info.returncode == 0, info.stderr
    assert "waiting, eruptions" in info.stdout
    # faithful.csv has the columns in the other order: they are picked by name
    predicted = run_cli("predict", "m.npz", "faithful.csv", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    np.testing.assert_array_equal(np.array(predicted.stdout.split(), dtype=int),
                                  model.predict(swapped))  # fmt: skip
    code, out, _ = run_main(["score", folder / "m.npz", folder / "wide.csv", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["mean_log_likelihood"] == pytest.approx(model.score(swapped), 1e-9)
    # a file without a header: its columns in order, as before
    np.savetxt(folder / "plain.csv", swapped, delimiter=",")
    code, out, _ = run_main(["predict", folder / "m.npz", folder / "plain.csv"], capsys)
    assert code == 0
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(swapped))


def test_a_missing_named_column_is_a_one_line_error(folder, capsys):
    assert main(["fit", str(folder / "faithful.csv"), "-k", "2", "-o", str(folder / "m.npz"),
                 "-q"]) == 0  # fmt: skip
    (folder / "other.csv").write_text("eruptions,wait\n1,2\n3,4\n")
    capsys.readouterr()
    line = one_line_error(["predict", folder / "m.npz", folder / "other.csv"], capsys)
    assert "other.csv has no column 'waiting'" in line
    assert "fitted on the columns 'eruptions', 'waiting'" in line and "--columns" in line
    (folder / "neither.csv").write_text("x,y\n1,2\n")
    line = one_line_error(["score", folder / "m.npz", folder / "neither.csv"], capsys)
    assert "neither.csv has no columns 'eruptions', 'waiting'" in line
    # --columns at predict picks the columns instead
    code, out, _ = run_main(["predict", folder / "m.npz", folder / "other.csv",
                             "--columns", "eruptions,wait"], capsys)  # fmt: skip
    assert code == 0 and len(out.split()) == 2


def test_columns_by_index_without_a_header(folder, faithful, capsys):
    code, _, err = run_main(["fit", folder / "bare.csv", "--columns", "2,0", "-k", "2", "-q",
                             "--random-state", "0", "-o", folder / "m.npz"], capsys)  # fmt: skip
    assert code == 0, err
    model = emkit.load(folder / "m.npz")
    reference = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    assert "columns" not in read_metadata(folder / "m.npz").get("user", {})
    code, out, _ = run_main(["info", folder / "m.npz", "--json"], capsys)
    assert json.loads(out)["columns"] is None
    code, out, _ = run_main(["predict", folder / "m.npz", folder / "bare.csv",
                             "--columns", "2,0"], capsys)  # fmt: skip
    assert code == 0
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(faithful))
    # an index also works with a header, and on a .npy file
    np.save(folder / "bare.npy", np.loadtxt(folder / "bare.csv", delimiter=","))
    code, _, err = run_main(["fit", folder / "bare.npy", "--columns", "2,0", "-k", "2", "-q",
                             "--random-state", "0", "-o", folder / "n.npz"], capsys)  # fmt: skip
    assert code == 0, err
    np.testing.assert_allclose(emkit.load(folder / "n.npz").means_, model.means_, rtol=1e-12)
    code, _, err = run_main(["fit", folder / "wide.csv", "--columns", "3,waiting", "-k", "2",
                             "-q", "-o", folder / "w.npz"], capsys)  # fmt: skip
    assert code == 0, err
    assert read_metadata(folder / "w.npz")["user"]["columns"] == ["eruptions", "waiting"]


@pytest.mark.parametrize(
    "data, columns, fragments",
    [
        ("wide.csv", "waiting,speed", ["--columns speed", "no column 'speed'", "'label'"]),
        ("bare.csv", "waiting", ["--columns waiting", "no header", "0-based", "(0 to 2)"]),
        ("bare.csv", "0,3", ["--columns 3", "has 3 columns", "0 to 2"]),
        ("wide.csv", "waiting,1", ["column '1' is given twice"]),
        ("wide.csv", "label", ["'eruption 0' is not a number"]),
        ("wide.csv", "waiting,,id", ["--columns", "names separated by commas"]),
    ],
)
def test_bad_columns_are_one_line_errors(folder, capsys, data, columns, fragments):
    argv = ["fit", folder / data, "--columns", columns, "-k", "2", "-o", folder / "m.npz"]
    try:
        line = one_line_error(argv, capsys)
    except SystemExit:  # argparse's own errors
        line = capsys.readouterr().err.strip()
    for fragment in fragments:
        assert fragment in line, line
    assert not (folder / "m.npz").exists()


# -- --n-jobs and --accelerate ------------------------------------------------------------------
KIND_OPTIONS = {
    "gmm": ["--model", "gmm", "-k", "2"],
    "hmm": ["--model", "hmm", "-k", "2"],
    "lgssm": ["--model", "lgssm", "--state-dim", "1"],
}


@pytest.mark.parametrize("name", list(KIND_OPTIONS))
def test_n_jobs_and_accelerate_reach_the_estimator(tmp_path, faithful, capsys, name):
    np.save(tmp_path / "d.npy", faithful)
    path = tmp_path / "m.npz"
    argv = ["fit", tmp_path / "d.npy", *KIND_OPTIONS[name], "--accelerate", "squarem",
            "--random-state", "0", "--max-iter", "20", "-q"]  # fmt: skip
    code, _, err = run_main([*argv, "--n-jobs", "2", "-o", path], capsys)
    assert code == 0, err
    model = emkit.load(path)
    assert model.n_jobs == 2 and model.accelerate == "squarem"
    code, _, err = run_main([*argv, "--n-jobs", "-1"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("method", ["daarem", "qn", "auto"])
def test_accelerate_offers_every_method_of_the_engine(tmp_path, faithful, capsys, method):
    np.save(tmp_path / "d.npy", faithful)
    path = tmp_path / "m.npz"
    argv = ["fit", tmp_path / "d.npy", "--model", "gmm", "-k", "2", "--accelerate", method,
            "--random-state", "0", "--max-iter", "20", "-q", "-o", path]  # fmt: skip
    code, _, err = run_main(argv, capsys)
    assert code == 0, err
    assert emkit.load(path).accelerate == method
    with pytest.raises(SystemExit):
        main([*map(str, argv[:-2]), "--accelerate", "anderson"])
    err = capsys.readouterr().err
    assert all(name in err for name in ("squarem", "daarem", "qn", "auto"))


def test_n_jobs_and_accelerate_errors(tmp_path, faithful, capsys):
    np.save(tmp_path / "d.npy", faithful)
    argv = ["fit", tmp_path / "d.npy", "--model", "kmeans", "-k", "2", "-q"]
    assert run_main([*argv, "--n-jobs", "1"], capsys)[0] == 0
    line = one_line_error([*argv, "--accelerate", "squarem"], capsys)
    assert "--accelerate does not apply to --model kmeans" in line
    for value in ("0", "-2", "two"):
        with pytest.raises(SystemExit):
            main([*map(str, argv), "--n-jobs", value])
        err = capsys.readouterr().err
        assert "argument --n-jobs" in err and "-1 for every core" in err
        assert len(err.splitlines()) == 1


# -- the state-space short names ------------------------------------------------------------------
def test_state_space_short_names_are_accepted(tmp_path, capsys):
    flow = emkit.datasets.load_nile().data[:, 1:2]
    np.save(tmp_path / "nile.npy", flow)
    long_names = [
        "--param",
        "transition_matrix=1",
        "--param",
        "observation_matrix=1",
        "--param",
        "initial_state_covariance=1e7",
        "--learn",
        "transition_covariance,observation_covariance,initial_state_mean",
    ]
    short_names = ["--param", "A=1", "--param", "C=1", "--param", "P0=1e7",
                   "--learn", "Q,r,m0"]  # fmt: skip
    fitted = []
    for names in (long_names, short_names):
        path = tmp_path / f"m{len(fitted)}.npz"
        argv = ["fit", tmp_path / "nile.npy", "--model", "lgssm", "--state-dim", "1", *names,
                "--tol", "1e-8", "--max-iter", "300", "-o", path, "-q"]  # fmt: skip
        code, out, err = run_main(argv, capsys)
        assert code == 0, err
        assert "learned:             Q, R, m0" in out
        fitted.append(emkit.load(path))
    assert fitted[1].learned_ == fitted[0].learned_
    np.testing.assert_allclose(
        fitted[1].transition_covariance_, fitted[0].transition_covariance_, rtol=1e-12
    )
    np.testing.assert_array_equal(fitted[1].transition_matrix_, [[1.0]])
    line = one_line_error(["fit", tmp_path / "nile.npy", "--model", "lgssm", "--state-dim", "1",
                           "--learn", "Q,Z"], capsys)  # fmt: skip
    assert "unknown parameter names ['Z']" in line and "Q (transition_covariance)" in line


# -- --help ---------------------------------------------------------------------------------------
def help_text(command, capsys) -> str:
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_every_option_of_every_subcommand_states_its_default():
    """Options that take a value say their default in --help (or that they are required);
    flags (off unless given) and positional arguments have none."""
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subcommands.choices) == set(COMMANDS)
    for name, sub in subcommands.choices.items():
        formatter = sub.formatter_class(sub.prog)
        for action in sub._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            text = formatter._get_help_string(action) % {"default": action.default}
            assert "default" in text or "required" in text or action.required, (name, text)


def test_fit_help_shows_the_defaults_of_every_model(capsys):
    text = help_text("fit", capsys)
    assert "(default: gmm)" in text
    tolerance = (
        "convergence tolerance (default: 0.001 for gmm; 0.0001 for kmeans, hmm, lgssm, lda, plsa)"
    )
    assert tolerance in text
    assert "[gmm, hmm] (default: full for gmm; diag for hmm)" in text
    assert "(default: every core)" in text and "(default: plain EM)" in text
    assert "-k N_COMPONENTS, --n-components N_COMPONENTS" in text and "(required)" in text
    assert "(default: none; the summary is printed and nothing is saved)" in text
    assert "(default: demo-output)" in help_text("demo", capsys)


def test_a_bad_estimator_value_names_the_option(folder, capsys):
    line = one_line_error(["fit", folder / "faithful.csv", "-k", "2", "--init", "magic"], capsys)
    assert line.startswith("emkit: error: bad value for --init: ")
    assert "'magic'" in line and "emkit fit --help" in line


def test_python_m_emkit_cli_and_errors_in_a_subprocess(folder):
    assert_one_line_error(
        run_cli("fit", "wide.csv", "--columns", "speed", "-k", "2", cwd=folder),
        "--columns speed", "wide.csv has no column 'speed'",
    )  # fmt: skip
