import pytest

from cnnkit import config


def test_quick_mode_is_on_under_pytest():
    # conftest.py switches quick mode on for the whole test run.
    assert config.quick_mode() is True


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False), ("no", False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(config.QUICK_ENV, value)
    assert config.quick_mode() is expected


def test_unset_quick_mode_is_off(monkeypatch):
    monkeypatch.delenv(config.QUICK_ENV, raising=False)
    assert config.quick_mode() is False


def test_invalid_flag_names_the_variable_and_value(monkeypatch):
    monkeypatch.setenv(config.QUICK_ENV, "maybe")
    with pytest.raises(ValueError, match=r"CNNKIT_QUICK.*'maybe'"):
        config.quick_mode()


def test_pick(monkeypatch):
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert config.pick(full=20, quick=2) == 2
    monkeypatch.setenv(config.QUICK_ENV, "0")
    assert config.pick(full=20, quick=2) == 20
