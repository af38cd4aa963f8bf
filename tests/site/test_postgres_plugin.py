"""The `--postgres` plugin: skips without PostgreSQL on a laptop, fails under CI, and gives each test a clean database."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import postgres


def test_without_postgresql_a_laptop_skips_naming_the_package(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        postgres.unavailable("initdb and pg_ctl were not found")
    assert "`postgresql`" in str(skipped.value) and "apt-get install postgresql" in str(skipped.value)


def test_without_postgresql_ci_fails_instead_of_skipping(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        postgres.unavailable("initdb and pg_ctl were not found")
    assert "postgresql" in str(failed.value)


def test_the_binaries_are_found_in_debians_versioned_folder_or_on_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PG_BINDIR", str(tmp_path / "nothing-here"))
    found = postgres.postgres_bindir()
    if found is not None:
        assert (found / "initdb").exists() and (found / "pg_ctl").exists()
    for name in ("initdb", "pg_ctl"):
        (tmp_path / name).touch()
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    assert postgres.postgres_bindir() == tmp_path


@pytest.fixture
def cluster(request):
    """The session's throwaway cluster; only under --postgres."""
    if not request.config.getoption("--postgres"):
        pytest.skip("runs with --postgres")
    return request.getfixturevalue("postgres_server")


def test_the_cluster_listens_only_on_localhost_from_a_temporary_folder(cluster):
    engine = sa.create_engine(cluster.url("postgres"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SHOW listen_addresses")) == "127.0.0.1"
        assert connection.scalar(sa.text("SHOW fsync")) == "off"
    engine.dispose()
    assert cluster.root.name.startswith("afterimage-pg-") and cluster.root.parent in (Path(tempfile.gettempdir()), Path("/tmp"))
    if os.geteuid() == 0:
        assert cluster.datadir.stat().st_uid != 0  # PostgreSQL refuses root: the server runs as nobody


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_a_fresh_empty_database(cluster, postgres_database_url, round_):
    engine = sa.create_engine(postgres_database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        assert sa.inspect(connection).get_table_names() == []
        connection.execute(sa.text("CREATE TABLE leftover (id int)"))
    engine.dispose()
