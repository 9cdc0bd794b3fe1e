"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from archive import migrate
from archive.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_alert_links_mailed_before_hashing_keep_working_and_no_secret_stays(tmp_path) -> None:
    """
    GIVEN an archive at revision 0012 whose alert's token was mailed in plain links
    WHEN it is upgraded to the head
    THEN the alert table holds no token any more, only the token's SHA-256 is kept, the old
      link still names the alert, and the alert's mail survived the table's rebuild
    """
    import hashlib

    from sqlalchemy import inspect, text
    from sqlalchemy.orm import Session

    from archive import alerts

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0012")
    engine = create_engine(url)
    old = "old-secret-mailed-in-2026"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO alerts (email, query, filters, frequency, lang, token, created_at)"
                " VALUES ('a@example.org', 'railway', '{}', 'immediate', 'kk', :t,"
                " '2026-11-30 10:00:00')"
            ),
            {"t": old},
        )
        connection.execute(
            text(
                "INSERT INTO outbox (kind, alert_id, state, attempts, next_attempt_at, created_at)"
                " VALUES ('confirm', 1, 'sent', 1, '2026-11-30 10:00:00', '2026-11-30 10:00:00')"
            )
        )
    migrate.upgrade(url)
    assert "token" not in {c["name"] for c in inspect(engine).get_columns("alerts")}
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM alert_links")).scalars().all()
    assert stored == [hashlib.sha256(old.encode()).hexdigest()]
    # Rebuilding the alerts table (SQLite batch mode) did not cascade into its mail.
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox")).scalar() == 1
    with Session(engine) as session:
        alert = alerts.by_token(session, old)
        assert alert is not None and alert.email == "a@example.org"
    engine.dispose()


def test_moments_read_back_aware_in_utc_on_every_database(database_url: str) -> None:
    """
    GIVEN a moment written aware in another zone and one written naive (taken as UTC)
    WHEN the rows are read back and compared in SQL
    THEN both come back timezone-aware in UTC (SQLite stores no offset), the same instants,
      and a filter with an aware bound finds them
    """
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from archive.models import ApiKey

    almaty = timezone(timedelta(hours=5))
    aware = datetime(2026, 12, 1, 15, 0, tzinfo=almaty)
    naive = datetime(2026, 12, 1, 10, 0)
    engine = create_engine(database_url)
    with Session(engine) as session:
        keys = [
            ApiKey(name="aware", key_sha256="a" * 64, per_minute=1, created_at=aware),
            ApiKey(name="naive", key_sha256="b" * 64, per_minute=1, created_at=naive),
        ]
        session.add_all(keys)
        session.commit()
        ids = [key.id for key in keys]
        session.expire_all()
        read = session.scalars(select(ApiKey).where(ApiKey.id.in_(ids))).all()
        assert {key.created_at for key in read} == {datetime(2026, 12, 1, 10, 0, tzinfo=UTC)}
        assert all(key.created_at.tzinfo is UTC for key in read)
        since = datetime(2026, 12, 1, 14, 59, tzinfo=almaty)
        found = session.scalars(
            select(ApiKey.id).where(ApiKey.id.in_(ids), ApiKey.created_at > since)
        ).all()
        assert sorted(found) == sorted(ids)
        for key in read:
            session.delete(key)
        session.commit()
    engine.dispose()
