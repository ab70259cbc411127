"""The process's settings, store, media folder and library index, opened once and
shared by tasks.

The media folder and the library index open on first use: a command that only reads the
store (history, known list, watch) does not import Pillow, OpenCV, faiss or PyAV."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from postcheck.settings import Settings, get_settings
from postcheck.store import Store

if TYPE_CHECKING:
    from postcheck.index_cache import IndexCache
    from postcheck.media import MediaStore


class Services:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        media: MediaStore | None = None,
        library: IndexCache | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._media = media
        self._library = library
        self._lock = threading.RLock()  # tasks in threads share one index and media folder

    @property
    def media(self) -> MediaStore:
        with self._lock:
            if self._media is None:
                from postcheck.media import MediaStore, set_pillow_limits

                set_pillow_limits(self.settings.max_image_pixels)
                self._media = MediaStore(self.settings.media_dir)
            return self._media

    @property
    def library(self) -> IndexCache:
        with self._lock:
            if self._library is None:
                from postcheck.index_cache import IndexCache

                self._library = IndexCache(
                    self.store,
                    self.media,
                    self.settings.index_path,
                    ivf_min_codes=self.settings.index_ivf_min_codes,
                    nprobe=self.settings.index_nprobe,
                )
            return self._library

    @property
    def opened_library(self) -> IndexCache | None:
        """The library's index if this process has opened it (None: nothing searched)."""
        return self._library


@lru_cache(maxsize=1)
def services() -> Services:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Services(settings=settings, store=Store(settings.db_url, data_dir=settings.data_dir))


def reset_services() -> None:
    """Forget opened services (after settings changed, e.g. in tests or the demo)."""
    from postcheck.sources import reset_platforms

    if services.cache_info().currsize:
        services().store.close()
    services.cache_clear()
    get_settings.cache_clear()
    reset_platforms()  # e.g. identity caches of the last settings' directories
