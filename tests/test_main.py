import os
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
    # TensorFlow's C++ start-up line ("E0000 ... failed call to cuInit" without a GPU) stays out of the output.
    assert "E0000" not in result.stderr and "cuInit" not in result.stderr, result.stderr[-2000:]

    evaluated = run_cli("evaluate", str(path), "--data", "digits")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "precision" in evaluated.stdout
    assert "E0000" not in evaluated.stderr and "cuInit" not in evaluated.stderr, evaluated.stderr[-2000:]
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


# ---------------------------------------------------------------- nothing is trained in vain, nothing is lost

TINY = ["train", "simple_cnn", "--data", "digits", "--epochs", "1", "--image-size", "8"]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the CLI starts loading data (the first expensive step) before refusing an argument."""
    def load_data(*args, **kwargs):
        raise AssertionError("the CLI loaded data before refusing a bad argument")

    monkeypatch.setattr(cli, "_load_data", load_data)


@pytest.mark.parametrize("flag, value, message", [
    ("--learning-rate", "nan", "--learning-rate must be a positive number; received nan"),
    ("--learning-rate", "inf", "--learning-rate must be a positive number; received inf"),
    ("--learning-rate", "-1", "--learning-rate must be a positive number; received -1.0"),
    ("--patience", "-1", "--patience must be a non-negative integer; received -1"),
    ("--image-size", "0", "--image-size must be a positive integer; received 0"),
    ("--batch-size", "0", "--batch-size must be a positive integer; received 0"),
    ("--seed", "-3", "--seed must be a non-negative integer; received -3"),
    ("--output", "model.h5", "--output must be a path ending in .keras; received 'model.h5'"),
])
def test_bad_arguments_are_refused_before_any_work(flag, value, message, no_work, capsys):
    assert cli.main([*TINY, flag, value]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_an_existing_output_is_refused_before_training_unless_overwrite(tmp_path, no_work, capsys):
    existing = tmp_path / "good.keras"
    existing.write_bytes(b"a good model")
    assert cli.main([*TINY, "--output", str(existing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --output must be a path where no file exists yet (pass --overwrite to replace it)")
    assert existing.read_bytes() == b"a good model"


def test_an_output_in_a_folder_that_cannot_be_written_is_refused_before_training(tmp_path, no_work, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    assert cli.main([*TINY, "--output", str(a_file / "m.keras")]) == 2
    assert "--output must be a path in a writable folder" in capsys.readouterr().err


def test_evaluate_refuses_a_bad_image_size_before_loading(tmp_path, capsys):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    assert cli.main(["evaluate", str(model), "--image-size", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --image-size must be a positive integer; received 0"


def test_a_failed_save_leaves_the_existing_model_untouched(tmp_path, monkeypatch, capsys):
    import keras

    existing = tmp_path / "good.keras"
    existing.write_bytes(b"a good model")

    def save_onto_a_full_disk(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as file:  # half a file, then the disk is full
            file.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_onto_a_full_disk)
    assert cli.main([*TINY, "--output", str(existing), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "could not save the model" in err and "No space left on device" in err and "unchanged" in err
    assert existing.read_bytes() == b"a good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.keras"]  # no temporary file left behind


def test_overwrite_replaces_an_existing_model(tmp_path, capsys):
    existing = tmp_path / "old.keras"
    existing.write_bytes(b"an old model")
    assert cli.main([*TINY, "--output", str(existing), "--overwrite"]) == 0
    assert "load it with cnnkit.export.load_keras, or keras.models.load_model after import cnnkit" in (
        capsys.readouterr().out)
    import keras

    assert keras.models.load_model(existing).input_shape == (None, 8, 8, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.keras"]


def test_a_nan_model_is_not_saved(tmp_path, capsys):
    output = tmp_path / "nan.keras"
    assert cli.main([*TINY, "--learning-rate", "1e30", "--output", str(output)]) == 1  # diverges to NaN in one epoch
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: training diverged (loss nan")
    assert "not saved" in err and "--learning-rate" in err
    assert not output.exists()


# ---------------------------------------------------------------- arguments parsed before Keras is imported


HEAVY = {"keras", "tensorflow", "jax", "torch"}

# A sitecustomize module on PYTHONPATH runs first in the child process; at exit (argparse's SystemExit
# included) it writes the names of the modules the command imported. (`python -X importtime` cannot tell:
# cnnkit silences file descriptor 2 while Keras is imported, and importtime writes there.)
PROBE = """
import atexit, os, sys
atexit.register(lambda: open(os.environ["CNNKIT_PROBE"], "w").write("\\n".join(sorted(sys.modules))))
"""


def imported_modules(tmp_path, *args):
    """Exit code, stderr and the top-level modules that ``python -m cnnkit ...`` imported."""
    (tmp_path / "sitecustomize.py").write_text(PROBE)
    probe = tmp_path / "modules.txt"
    env = {**os.environ, "CNNKIT_PROBE": str(probe),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, env=env,
                            timeout=300)
    return result.returncode, result.stderr, {name.split(".")[0] for name in probe.read_text().split()}


@pytest.mark.parametrize("args, code, says", [
    (("--help",), 0, ""),
    (("train", "--help"), 0, ""),
    ((), 2, "the following arguments are required: command"),
    (("train", "simple_cnn", "--epochs", "ten"), 2, "argument --epochs: invalid int value: 'ten'"),
    (("train", "simple_cnn", "--epochs", "0"), 2, "error: --epochs must be a positive integer; received 0"),
    (("train", "simple_cnn", "--output", "model.h5"), 2, "--output must be a path ending in .keras"),
    (("evaluate", "no/such/model.keras"), 2, "error: no such model file"),
])
def test_help_and_argument_errors_answer_before_keras_is_imported(args, code, says, tmp_path):
    returncode, stderr, modules = imported_modules(tmp_path, *args)
    assert returncode == code, stderr[-2000:]
    assert says in stderr
    assert "cnnkit" in modules and not modules & HEAVY, sorted(modules & HEAVY)


@pytest.mark.parametrize("content", [b"", b"PK half a zip"])
def test_evaluate_a_corrupt_file_says_so_not_file_not_found(content, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(content)
    assert cli.main(["evaluate", str(corrupt)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "is not a readable .keras file" in err, err
    assert "not found" not in err.lower()


def test_evaluate_refuses_a_model_that_does_not_fit_the_dataset(tmp_path, capsys):
    import keras

    from cnnkit import create_model, export

    three_classes = export.save_keras(create_model("simple_cnn", num_classes=3, input_shape=(8, 8, 1)),
                                      tmp_path / "three.keras")
    assert cli.main(["evaluate", str(three_classes), "--data", "digits"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: the model outputs 3 classes; dataset 'digits' has 10")
    inputs = keras.Input((5,))
    flat = keras.Model(inputs, keras.layers.Dense(10)(inputs))
    flat_path = export.save_keras(flat, tmp_path / "flat.keras")
    assert cli.main(["evaluate", str(flat_path), "--data", "digits"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: the model takes inputs of shape (None, 5); evaluate needs an image classifier, "
        "inputs of shape (None, height, width, channels)")
