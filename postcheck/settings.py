"""Settings from the environment (prefix POSTCHECK_), with embedded defaults.

Every outside base URL is a setting so that tests and the demo can point the real clients
at the fixture server on 127.0.0.1.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCHECK_", extra="ignore")

    data_dir: Path = Field(Path(".postcheck"), description="Media, database and reports.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite in the data folder."
    )

    # Each platform's own settings (base URLs, tokens, rate) live in its package
    # (postcheck.sources.<platform>), read through Platform.settings(this object).

    # Videos: byte and duration caps, and how densely frames are sampled (every keyframe,
    # every scene change, and at least one frame per interval).
    max_video_bytes: int = 300 * 1024 * 1024
    max_video_seconds: float = 15 * 60
    video_min_interval: float = 2.0
    video_max_frames: int = 400
    known_video_max_frames: int = 120

    # Media, pages and short links are fetched from public addresses only. Destinations
    # listed here are allowed too: an address or network with one port ("127.0.0.1:8080",
    # "[::1]:8080", "10.0.0.0/8:443") or with every port ("10.0.0.0/8"). The tests and the
    # demo allow the fixture server's address and port only. Given in the environment as
    # JSON: POSTCHECK_ALLOWED_NETWORKS='["127.0.0.1:8080"]'. Allowing a whole address lets
    # any post or page reach every service on it (README: Safety).
    allowed_networks: list[str] = Field(default_factory=list)

    # Limits on what we download.
    max_image_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 100_000_000
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    download_deadline: float = 120.0
    user_agent: str = "postcheck/0.1 (+https://github.com/postcheck/postcheck)"

    # Articles: page size cap, how many embedded posts one article may fan out to, and how
    # many of them are verified at once.
    max_page_bytes: int = 5 * 1024 * 1024
    max_article_posts: int = 50
    article_concurrency: int = 4
    # `verify URL...` / `verify --from`: how many posts are checked at once in the one run.
    bulk_concurrency: int = 4

    # Network task retries (Prefect), with exponential backoff and jitter.
    fetch_retries: int = 3
    retry_backoff_seconds: float = 2.0
    # A 429 asking us to wait longer than this is not retried (it is reported instead).
    max_retry_after_seconds: float = 60.0

    # Every picture a verified post shows joins the known library, with the post as its
    # provenance, so that a later reuse is caught as recycled.
    learn_from_verify: bool = True

    # Nightly recheck: when (cron, UTC), how many posts at once, and how fast each platform
    # may be asked (Prefect global concurrency limits with slot decay: each platform's
    # POSTCHECK_<PLATFORM>_REQUESTS_PER_SECOND).
    recheck_cron: str = "0 3 * * *"
    recheck_timezone: str = "UTC"
    # Measured on 2 cores (benchmarks/recheck.py, 200 posts): with a SQLite-backed
    # Prefect server more at once only adds database-lock waits; with a PostgreSQL-backed
    # one 4 at once gained 10% over 2 (118 s against 130 s), the cores being full.
    recheck_concurrency: int = 2
    # How many runs `postcheck serve` runs at once.
    serve_limit: int = 8
    # Without PREFECT_API_URL, runs go to one background Prefect server of the data folder
    # (postcheck.prefect_background) on this port of 127.0.0.1, or the next free one when
    # another program holds it; a start that takes longer than the timeout is an error.
    prefect_port: int = 4200
    prefect_start_timeout: float = 90.0

    # The known library's index (postcheck/known_index.py): a folder of memory-mapped
    # files derived from the store, shared by every process on the data folder.
    index_dir: Path | None = Field(None, description="Default: the data folder's index/.")
    # A family's codes are searched exactly until it holds this many, then through a faiss
    # binary IVF index probing index_nprobe lists (benchmarks/index_structures.py,
    # library_scale.py): at a million pictures that is DCT256's 16M codes, while BoW1024,
    # pHash and dHash (1M each) stay exact, where IVF cost them recall (0.95 against 0.997).
    index_ivf_min_codes: int = 4_000_000
    index_nprobe: int = 64
    # When the deployment `reindex-known` rebuilds the index (retrains, compacts removals).
    reindex_cron: str = "30 4 * * 0"
    # An import that adds at least this many pictures rebuilds the index when it ends.
    reindex_after_import: int = 50_000

    # Evidence bundles: the RFC 3161 time-stamping authority asked for a token over each
    # bundle's manifest (e.g. https://freetsa.org/tsr); unset, bundles carry no token.
    tsa_url: str | None = None

    # A capture date older than the post by more than this is a metadata conflict.
    capture_date_margin_days: int = 30

    _platform_settings: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def platform_settings_cache(self) -> dict[str, Any]:
        """Platforms' settings read with this object (see sources.base.Platform.settings)."""
        return self._platform_settings

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.data_dir / "index"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'postcheck.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    """Forget the cached settings (after the environment changed) and read them again."""
    get_settings.cache_clear()
    return get_settings()
