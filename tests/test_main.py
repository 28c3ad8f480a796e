import subprocess
import sys

import pytest

from cnnkit import __main__ as cli


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, timeout=timeout)


def test_info_prints_the_device_summary():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cnnkit " in result.stdout and "backend" in result.stdout and "CPU cores" in result.stdout


def test_unknown_command_fails_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse exits with the usage; in-process (no TensorFlow import)
        cli.main(["fly"])
    assert exit_.value.code != 0
    assert "invalid choice: 'fly'" in capsys.readouterr().err


# ---------------------------------------------------------------- train / evaluate


def test_train_then_evaluate_digits(tmp_path):
    path = tmp_path / "tiny.keras"
    result = run_cli("train", "simple_cnn", "--data", "digits", "--epochs", "2", "--image-size", "8",
                     "--output", str(path))
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "epoch 1/2" in out and "epoch 2/2" in out  # progress, one line per epoch when not a terminal
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert 0.2 < accuracy <= 1.0  # two epochs on 8x8 digits: far above chance (0.1)
    assert path.is_file() and f"saved: {path}" in out

    evaluated = run_cli("evaluate", str(path), "--data", "digits")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "precision" in evaluated.stdout
    # The saved model scores exactly what training reported on the same test split.
    assert float(evaluated.stdout.split("test accuracy: ")[1].split()[0]) == accuracy


def test_unknown_model_lists_the_valid_names_in_one_line(capsys):
    assert cli.main(["train", "alexnet", "--data", "digits"]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown model 'alexnet'; valid models: ")
    assert "simple_cnn" in lines[0]


# The other error paths run main() in-process (each extra subprocess costs a TensorFlow import);
# the exit code main() returns is the one `sys.exit(main())` gives the shell (the info and train tests
# above run the real command in a subprocess).


@pytest.mark.parametrize("args", [("train", "simple_cnn", "--data", "mnist"), ("evaluate", __file__, "--data", "mnist")])
def test_unknown_dataset_lists_the_valid_names_in_one_line(args, capsys):
    assert cli.main(list(args)) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: unknown dataset 'mnist'; valid datasets: cifar10, digits, fashion_mnist, shapes"]
    from cnnkit import data

    assert set(cli.DATASETS) <= set(data.list_datasets())  # every name the CLI offers can be loaded


def test_evaluate_a_missing_file(capsys):
    assert cli.main(["evaluate", "no/such/model.keras"]) != 0
    assert capsys.readouterr().err.strip() == "error: no such model file: 'no/such/model.keras'"


def test_bad_epochs(capsys):
    assert cli.main(["train", "simple_cnn", "--epochs", "0"]) != 0
    assert capsys.readouterr().err.strip() == "error: --epochs must be a positive integer; received 0"
