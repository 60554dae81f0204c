"""Without the ``sandbox`` extra the sandbox says what to install: one line from the command,
a ``ModuleNotFoundError`` naming the extra from the package."""

from __future__ import annotations

import importlib.util

import pytest

from up42_sandbox import _extra


@pytest.fixture
def without_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "uvicorn" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_extra.importlib.util, "find_spec", find_spec)


def test_the_command_prints_one_line_naming_the_extra(
    without_uvicorn: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _extra.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "uvicorn" in err
    assert "pip install 'up42-facade[sandbox]'" in err


def test_the_package_raises_a_module_error_naming_the_extra(without_uvicorn: None) -> None:
    with pytest.raises(ModuleNotFoundError, match=r"up42-facade\[sandbox\]") as caught:
        _extra.require_server()
    assert caught.value.name == "uvicorn"


def test_with_the_extra_nothing_is_missing() -> None:
    assert _extra.missing_server_modules() == []
