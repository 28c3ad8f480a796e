"""cnnkit.data: the registry of loaders (load_dataset, list_datasets)."""


import pytest

from cnnkit import data


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'mnist'\. Available: ") as err:
        data.load_dataset("mnist")
    assert all(name in str(err.value) for name in ["cifar10", "digits", "fashion_mnist", "shapes"])
    assert str(err.value).endswith(", ".join(data.list_datasets()) + ".")
