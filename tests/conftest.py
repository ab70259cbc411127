"""Shared test fixtures: one fixture server and one Prefect server for the whole session.

No test touches the internet: every outside base URL points at the fixture server on
127.0.0.1, and Prefect runs against a server of its own (own PREFECT_HOME and SQLite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def local_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A real Prefect server on 127.0.0.1, started once (it costs 7-12 s)."""
    from postcheck.prefect_local import LocalPrefectServer

    with LocalPrefectServer(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server


@pytest.fixture(scope="session")
def prefect_server(local_prefect) -> str:
    """The session Prefect server's API URL."""
    return local_prefect.api_url


@pytest.fixture(scope="session")
def prefect_api(prefect_server: str) -> Iterator[str]:
    """Point this process's Prefect client at the session server; no heartbeat waits,
    no log shipping (both cost time and prove nothing here)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )

    os.environ["PREFECT_API_URL"] = prefect_server
    with temporary_settings(
        updates={
            PREFECT_API_URL: prefect_server,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            PREFECT_LOGGING_TO_API_ENABLED: False,
        }
    ):
        yield prefect_server


@pytest.fixture(scope="session")
def fixture_server() -> Iterator:
    from postcheck.fixtures.server import FixtureServer

    with FixtureServer() as server:
        yield server


@pytest.fixture
def server(fixture_server):
    """The session fixture server with a fresh world and no leftover faults or log."""
    from postcheck.fixtures.server import FixtureWorld

    fixture_server.world = FixtureWorld()
    fixture_server.faults.clear()
    fixture_server.latency.clear()
    fixture_server.requests.clear()
    yield fixture_server
    fixture_server.faults.clear()
    fixture_server.latency.clear()


@pytest.fixture
def env(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings for one test: its own data folder, every base URL on the fixture server,
    retries without waiting."""
    from postcheck.services import reset_services

    point_settings_at(server, tmp_path / "data", monkeypatch)
    yield tmp_path
    reset_services()


def point_settings_at(server, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `env` fixture's settings, for fixtures of a wider scope (their own MonkeyPatch):
    the data folder given, every base URL on the fixture server, no waits."""
    from postcheck.services import reset_services

    for key, value in server.env(unthrottled=True).items():  # no test waits for a rate limit
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("POSTCHECK_X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("POSTCHECK_DATABASE_URL", raising=False)
    monkeypatch.setenv("POSTCHECK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("POSTCHECK_RETRY_BACKOFF_SECONDS", "0")
    reset_services()


@pytest.fixture
def settings(env):
    from postcheck.settings import get_settings

    return get_settings()


@pytest.fixture
def svc(env, request):
    from postcheck.services import services

    if "known_library" in request.fixturenames:  # its data folder is copied in before
        return request.getfixturevalue("known_library")  # the store is first opened
    return services()


@pytest.fixture(scope="session")
def known_library_data(fixture_server, tmp_path_factory) -> Path:
    """The fixture archive of known images (the demo's) loaded once, into a data folder of
    its own (store, media, index), for `known_library` to copy."""
    from postcheck.demo import fixtures_dir, load_known_manifest
    from postcheck.services import reset_services, services

    data = tmp_path_factory.mktemp("known-library") / "data"
    with pytest.MonkeyPatch.context() as mp:
        point_settings_at(fixture_server, data, mp)
        try:
            load_known_manifest(services(), fixtures_dir() / "known" / "manifest.csv")
        finally:
            reset_services()  # the store closed before its files are copied
    return data


@pytest.fixture
def known_library(env, known_library_data):
    """The fixture archive of known images, loaded into the test's store: a copy of the
    session's loaded data folder as the test's own (it holds no paths of its folder), so
    each test can add, remove and check without the others seeing it. Its services."""
    return copy_data_folder(known_library_data)


def copy_data_folder(pristine: Path):
    """A copy of a prepared data folder (store, media, index: it holds no paths of its
    own folder) as the test's data folder, before anything opens it; its services."""
    import shutil

    from postcheck.services import reset_services, services
    from postcheck.settings import get_settings

    reset_services()
    shutil.copytree(pristine, get_settings().data_dir)  # fails if already opened
    return services()


@pytest.fixture
def run(prefect_api, known_library):
    """verify_post on the fixture server against the known library: (state, report)."""
    from postcheck.flows.verify_post import verify_post

    def _run(url):
        state = verify_post(url, return_state=True)
        return state, state.result(raise_on_failure=False)

    return _run


# --- database backends -------------------------------------------------------------------

PG_URL = os.environ.get("POSTCHECK_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database on each backend. PostgreSQL runs when
    POSTCHECK_TEST_DATABASE_URL points at a server (`make test` starts one with
    pg_virtualenv where Debian's PostgreSQL is installed, as CI does)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server (POSTCHECK_TEST_DATABASE_URL unset)")
    import uuid

    import sqlalchemy as sa

    name = f"postcheck_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
