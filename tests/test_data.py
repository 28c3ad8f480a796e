"""cnnkit.data: the registry of loaders (load_dataset, list_datasets)."""


import pytest

from cnnkit import data


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"name must be one of .*; received 'mnist'\.") as err:
        data.load_dataset("mnist")
    assert all(repr(name) in str(err.value) for name in data.list_datasets())
