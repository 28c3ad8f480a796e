import socket

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


def test_reachable_is_true_for_a_listening_server_and_false_for_a_closed_port(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert config.reachable(f"http://127.0.0.1:{port}/file.tar.gz") is True
    assert config.reachable(f"http://127.0.0.1:{port}/file.tar.gz", timeout=1.0) is False  # closed now


def test_reachable_leaves_the_decision_to_the_download_behind_a_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert config.reachable("https://127.0.0.1:9/") is True


def test_reachable_refuses_an_address_without_a_host():
    with pytest.raises(ValueError, match=r"received 'not a url'"):
        config.reachable("not a url")
