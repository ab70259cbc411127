"""Results of checking every post a news article embeds."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from postcheck.domain import CheckReport, Verdict
from postcheck.sources.embeds import EmbedClaim


class EmbeddedPostResult(BaseModel):
    claim: EmbedClaim
    status: Literal["checked", "unresolved", "failed", "skipped"]
    url: str | None = None
    verdict: Verdict | None = None
    reasons: list[str] = Field(default_factory=list)
    mismatches: list[str] = Field(default_factory=list)
    report: CheckReport | None = None
    flow_run_id: str | None = None


class ArticleReport(BaseModel):
    source: str
    checked_at: datetime
    message: str
    posts: list[EmbeddedPostResult] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.posts:
            key = p.verdict.value if p.verdict else p.status
            out[key] = out.get(key, 0) + 1
        return out
