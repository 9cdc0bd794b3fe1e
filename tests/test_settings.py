"""Settings refuse what would be unsafe in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from archive.settings import Settings


def test_production_refuses_a_placeholder_master_key(tmp_path):
    with pytest.raises(ValidationError, match="16"):
        Settings(environment="production", meili_master_key="changeme", data_dir=tmp_path)


def test_development_defaults_to_embedded_sqlite_under_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.db_url == f"sqlite:///{tmp_path}/ashyq.db"
    assert settings.broker_url is None
