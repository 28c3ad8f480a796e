"""The shipped ImageNet class list and decode_predictions (no download, unlike Keras's)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnkit.data import decode_predictions, imagenet, imagenet_class_names, imagenet_wordnet_ids


def test_the_class_list_ships_inside_the_package_in_the_standard_order():
    assert imagenet.CLASSES_FILE.parent.name == "data" and imagenet.CLASSES_FILE.parent.parent.name == "cnnkit"
    ids = imagenet_wordnet_ids()
    # ILSVRC-2012 numbers its classes by sorted WordNet id: that order is what every ImageNet network outputs.
    assert len(ids) == 1000 == len(set(ids)) and ids == sorted(ids)
    assert all(len(i) == 9 and i[0] == "n" and i[1:].isdigit() for i in ids)
    names = imagenet_class_names()
    # Well-known anchors of the standard list (Keras's imagenet_class_index.json agrees on each).
    assert (names[0], names[1], names[281], names[285], names[652], names[967], names[999]) == (
        "tench", "goldfish", "tabby", "Egyptian cat", "military uniform", "espresso", "toilet tissue")
    assert (ids[0], ids[281], ids[999]) == ("n01440764", "n02123045", "n15075141")
    assert imagenet_class_names(full=True)[281] == "tabby, tabby cat"


def test_a_built_wheel_ships_the_class_file(repo_root, tmp_path):
    """What `pip install git+...` installs: the wheel setuptools builds from pyproject.toml (offline)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "src"  # a copy, so the build leaves no build/ or *.egg-info in the repository
    shutil.copytree(repo_root, source, ignore=shutil.ignore_patterns(".git", "notebooks", "solutions", "benchmarks",
                                                                      "build", "*.egg-info", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                             "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("cnnkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("cnnkit/data/imagenet_classes.txt")
    assert shipped == imagenet.CLASSES_FILE.read_bytes()


def test_decode_predictions_sorts_by_probability_and_accepts_backend_tensors():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 1000)).astype(np.float32)
    probs = keras.ops.softmax(keras.ops.convert_to_tensor(logits))
    decoded = decode_predictions(probs, top=3)
    expected = np.argsort(-logits, axis=1)[:, :3]
    assert [[i for i, _, _ in row] for row in decoded] == expected.tolist()
    names = imagenet_class_names()
    p = keras.ops.convert_to_numpy(probs)
    for row, image in zip(decoded, range(2)):
        for index, name, probability in row:
            assert name == names[index] and probability == pytest.approx(float(p[image, index]))
    single = decode_predictions(keras.ops.convert_to_numpy(probs)[0], top=1)
    assert len(single) == 1 and single[0][0][0] == expected[0, 0]


@pytest.mark.parametrize("probabilities, top, message", [
    (np.zeros((2, 10)), 5, r"must have shape \(batch, 1000\) or \(1000,\); received shape \(2, 10\)"),
    (np.zeros((1, 1, 1000)), 5, r"received shape \(1, 1, 1000\)"),
    (np.zeros((1, 1000)), 0, r"top must be an integer in \[1, 1000\]; received 0"),
    (np.zeros((1, 1000)), 1001, r"top must be an integer in \[1, 1000\]; received 1001"),
])
def test_bad_arguments_say_what_was_received(probabilities, top, message):
    with pytest.raises(ValueError, match=message):
        decode_predictions(probabilities, top=top)
