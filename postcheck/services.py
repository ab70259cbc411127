"""The process's settings, store, media folder and library index, opened once and
shared by tasks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from postcheck.index_cache import IndexCache
from postcheck.media import MediaStore, set_pillow_limits
from postcheck.settings import Settings, get_settings
from postcheck.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    media: MediaStore
    library: IndexCache


@lru_cache(maxsize=1)
def services() -> Services:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    set_pillow_limits(settings.max_image_pixels)
    store = Store(settings.db_url)
    media = MediaStore(settings.media_dir)
    return Services(
        settings=settings,
        store=store,
        media=media,
        library=IndexCache(
            store,
            media,
            settings.index_path,
            ivf_min_codes=settings.index_ivf_min_codes,
            nprobe=settings.index_nprobe,
        ),
    )


def reset_services() -> None:
    """Forget opened services (after settings changed, e.g. in tests or the demo)."""
    from postcheck.sources import reset_platforms

    if services.cache_info().currsize:
        services().store.close()
    services.cache_clear()
    get_settings.cache_clear()
    reset_platforms()  # e.g. identity caches of the last settings' directories
