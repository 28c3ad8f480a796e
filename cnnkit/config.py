"""Run settings in one place: quick mode, offline mode and the repository URL.

Quick mode (``CNNKIT_QUICK=1``) shrinks epochs, dataset sizes and image sizes so
the whole course runs on a small CPU in minutes. It changes *sizes only*, never
which code runs: notebooks ask for a size with :func:`pick` and get the full
value for a learner and the small one under test.

Offline mode (``CNNKIT_OFFLINE=1``) makes the optional online loaders skip the
download attempt and use their offline fallback at once. The tests set it so
they never touch the network.
"""

from __future__ import annotations

import os
import socket
import urllib.parse

QUICK_ENV = "CNNKIT_QUICK"
OFFLINE_ENV = "CNNKIT_OFFLINE"

# The one place the repository address lives: Colab setup cells, badges and
# the package metadata are checked against it by the tests.
REPO_URL = "https://github.com/cnnkit/cnnkit"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"Environment variable {name} must be one of 1/0/true/false/yes/no/on/off "
        f"(or unset); received {os.environ[name]!r}."
    )


def quick_mode() -> bool:
    """Return True when ``CNNKIT_QUICK`` asks for the small, fast configuration."""
    return _env_flag(QUICK_ENV)


def offline_mode() -> bool:
    """Return True when ``CNNKIT_OFFLINE`` forbids download attempts."""
    return _env_flag(OFFLINE_ENV)


def pick(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise.

    Example:
        >>> epochs = pick(full=20, quick=2)
    """
    return quick if quick_mode() else full


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether the server of ``url`` accepts a connection within ``timeout`` seconds.

    The online loaders ask this before they download, so that offline they fall back
    at once, with cnnkit's own message, instead of printing Keras's "Downloading data
    from ..." and waiting for a network timeout. Behind a proxy (``HTTPS_PROXY`` or
    ``HTTP_PROXY`` set) a direct connection says nothing, so it answers True and lets
    the download itself decide.

    Example:
        >>> reachable("https://www.cs.toronto.edu/~kriz/")   # doctest: +SKIP
        True
    """
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
        return True
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"url must be an address like 'https://host/path'; received {url!r}.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:  # no route, DNS failure, refused, timed out
        return False
