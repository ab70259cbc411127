"""What a platform is. Everything postcheck knows about one platform lives in its package
`postcheck.sources.<name>/`, whose `__init__` exposes `PLATFORM`, an instance of a
`Platform` subclass; the registry (`postcheck.sources.platforms()`) finds it, and no other
module names a platform.

A platform declares:

* who it is: `name` (the value stored in the database and in artifact keys), `title`;
* its URLs: `hosts`, `url_forms` (for help and README), `parse_url`;
* its settings: `settings_model`, a pydantic-settings class read from the environment
  (`POSTCHECK_<PREFIX>_…`) with defaults, got through `settings(core)`;
* its identities: `PostRef.key` (made by `parse_url`), `Post.uri` (made by fetch),
  `artifact_slug`, `claim_key`, `refetch_url`;
* fetching: `fetch` (one post), `fetch_many` with `batch_size` (many posts; one result per
  ref, a Post or the error the single fetch would have raised);
* its rate limit for the recheck: `rate_limit_name`, `requests_per_second`;
* the embed forms the article extractor recognises: `embed_forms()`;
* its fixture for the test server: `fixture_class()` (module `<package>.fixture`).

Network and SDK imports belong in the package's fetch modules, imported when a fetch
happens, so finding platforms and parsing URLs stays cheap.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict

from postcheck.domain import Post, PostRef
from postcheck.errors import PostcheckError
from postcheck.settings import Settings

if TYPE_CHECKING:
    from postcheck.sources.embeds.forms import EmbedForms


class PlatformSettings(BaseSettings):
    """A platform's own settings. Subclasses set `model_config` with their env prefix."""

    model_config = SettingsConfigDict(env_prefix="POSTCHECK_", extra="ignore")

    # How fast the recheck may ask this platform (a Prefect global concurrency limit with
    # slot decay); each platform sets its own default.
    requests_per_second: float = 1.0


FetchResult = Post | PostcheckError


class Platform(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    # Hosts whose URLs this platform claims, so a wrong path on them gets a precise message.
    hosts: ClassVar[frozenset[str]] = frozenset()
    # True for a platform on any host (a Mastodon instance): its URLs are known by their
    # path alone, so it is asked only after every platform with hosts of its own.
    any_host: ClassVar[bool] = False
    # The accepted URL forms, as a person would write them (help text, README, messages).
    url_forms: ClassVar[tuple[str, ...]] = ()
    settings_model: ClassVar[type[PlatformSettings]] = PlatformSettings

    # --- URLs ------------------------------------------------------------------------

    @abstractmethod
    def parse_url(self, url: str) -> PostRef | None:
        """The post this URL names; None if the URL is not this platform's.

        Raise BadURL (one line) when the URL is this platform's but names no post (a
        profile, say). `url` has passed `urls.check_url_shape` (scheme added, no spaces)."""

    def ref(self, post_id: str, author: str | None, url: str, key: str) -> PostRef:
        return PostRef(platform=self.name, post_id=post_id, author=author, url=url, key=key)

    # --- settings --------------------------------------------------------------------

    def settings(self, core: Settings) -> Any:
        """This platform's settings, read from the environment once per `Settings` object
        (so `reload_settings()` reloads them too)."""
        cache = core.platform_settings_cache
        if self.name not in cache:
            cache[self.name] = self.settings_model()
        return cache[self.name]

    def env_var(self, setting: str) -> str:
        """The environment variable of one of this platform's settings."""
        return f"{self.settings_model.model_config.get('env_prefix', '')}{setting}".upper()

    def requests_per_second(self, core: Settings) -> float:
        return float(self.settings(core).requests_per_second)

    @property
    def rate_limit_name(self) -> str:
        """The Prefect global concurrency limit that paces requests to this platform."""
        return f"postcheck-{self.name}"

    # --- identities ------------------------------------------------------------------

    def artifact_slug(self, key_or_uri: str) -> str:
        """The part of the artifact key after 'post-' (only [a-z0-9-] survive)."""
        return f"{self.name}-{key_or_uri.split(':', 1)[-1]}"

    def claim_key(self, ref: PostRef) -> str:
        """Identity of an article's claim about this post, for de-duplication."""
        return f"{self.name}:{ref.post_id}"

    def refetch_url(self, uri: str, url: str) -> str:
        """What the recheck asks for again: the stored URL unless the URI is steadier."""
        return url

    def author_is_id(self, author: str) -> bool:
        """True when a URL's author part is an id (a Bluesky DID), not a name to claim."""
        return False

    def author_alias_url(self, ref: PostRef, author_id: str) -> str | None:
        """The same post's URL through `author_id`, an id an embed ties the URL's author
        name to (a Bluesky DID for a handle); None when the platform has no such alias."""
        return None

    # Short-link hosts that stand for this platform's posts in copied text, each to the
    # name of the setting holding the base URL they are asked at (X: t.co, pic.twitter.com).
    short_link_hosts: ClassVar[dict[str, str]] = {}

    def short_link_target(self, host: str, code: str, settings: Settings) -> str:
        base = getattr(self.settings(settings), self.short_link_hosts[host])
        return f"{base.rstrip('/')}/{code}"

    # --- fetching --------------------------------------------------------------------

    # How many posts one batch request may carry (1: the platform has no batch endpoint).
    batch_size: ClassVar[int] = 1

    @abstractmethod
    def fetch(self, ref: PostRef, settings: Settings) -> Post:
        """Fetch the post. Raises PostUnavailable, TransientError or FetchError (one line)."""

    def batch_limit(self, settings: Settings) -> int:
        """How many refs `fetch_many` sends in one request with these settings."""
        return self.batch_size

    def fetch_many(self, refs: Sequence[PostRef], settings: Settings) -> list[FetchResult]:
        """Fetch many posts: one result per ref, in order, each a Post or the error the
        single fetch would have raised for it. Platforms with a batch endpoint override
        this (chunks of `batch_limit`); this default asks one at a time."""
        out: list[FetchResult] = []
        for ref in refs:
            try:
                out.append(self.fetch(ref, settings))
            except PostcheckError as exc:
                out.append(exc)
        return out

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget process-wide caches (after the settings changed)."""

    # --- articles and tests ----------------------------------------------------------

    def embed_forms(self) -> EmbedForms | None:
        """How articles embed this platform's posts (module `<package>.embeds`, `FORMS`)."""
        return self._package_attr("embeds", "FORMS")

    def fixture_class(self) -> type | None:
        """The fixture-server part of this platform (module `<package>.fixture`, `Fixture`)."""
        return self._package_attr("fixture", "Fixture")

    def _package_attr(self, module: str, attr: str) -> Any:
        package = type(self).__module__.rsplit(".", 1)[0]
        try:
            found = importlib.import_module(f"{package}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{module}":
                raise
            return None
        return getattr(found, attr, None)


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")
