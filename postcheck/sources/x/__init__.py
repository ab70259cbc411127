"""X / Twitter: API v2 through tweepy with a bearer token, else the public embed endpoint."""

from postcheck.sources.x.platform import XPlatform

PLATFORM = XPlatform()
