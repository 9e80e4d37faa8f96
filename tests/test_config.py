from pathlib import Path

import pytest

from loyalty.config import Settings
from loyalty.errors import ConfigError


def test_defaults_hang_off_home():
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///var/loyalty.db"
    assert s.model_dir == Path("var/models")
    assert s.horizon_days == 60
    assert s.timezone == "America/Lima"


def test_environment_and_overrides():
    env = {"LOYALTY_HOME": "/srv/loyalty", "LOYALTY_HORIZON_DAYS": "90",
           "LOYALTY_DATABASE_URL": "postgresql://db/loyalty"}
    s = Settings.from_env(env)
    assert s.model_dir == Path("/srv/loyalty/models")
    assert s.horizon_days == 90
    assert s.database_url == "postgresql://db/loyalty"
    assert Settings.from_env(env, horizon_days=30).horizon_days == 30


@pytest.mark.parametrize("env, message", [
    ({"LOYALTY_HORIZON_DAYS": "sixty"}, "must be an integer"),
    ({"LOYALTY_HORIZON_DAYS": "0"}, "at least 1"),
    ({"LOYALTY_TIMEZONE": "Mars/Olympus"}, "not a known time zone"),
])
def test_bad_settings_say_which_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_importing_reads_no_environment(monkeypatch):
    import importlib

    import loyalty.config

    monkeypatch.setenv("LOYALTY_HORIZON_DAYS", "not a number")
    importlib.reload(loyalty.config)  # would raise if the module read the variable on import


def test_tier_thresholds_parse_and_must_increase():
    assert Settings.from_env({"LOYALTY_TIER_THRESHOLDS": "100, 250.5,900"}).tier_thresholds == (
        100.0, 250.5, 900.0)
    with pytest.raises(ConfigError, match="increasing"):
        Settings.from_env({"LOYALTY_TIER_THRESHOLDS": "300,200,100"})
    with pytest.raises(ConfigError, match="comma-separated"):
        Settings.from_env({"LOYALTY_TIER_THRESHOLDS": "cheap,dear"})
