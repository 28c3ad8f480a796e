"""cnnkit._optional: an optional dependency is imported, or the error names the package to install."""

import pytest

from cnnkit._optional import require


def test_require_imports_an_installed_module():
    assert require("json", "json", "Reading JSON").dumps([1]) == "[1]"


def test_require_names_the_package_and_the_feature():
    with pytest.raises(ImportError, match=r"LiteRT export needs the 'no-such-package' package: "
                                          r"pip install no-such-package"):
        require("no_such_module_for_cnnkit", "no-such-package", "LiteRT export")
