"""Flow `export-evidence`: one check's evidence bundle (postcheck/bundle.py) written as a
zip, timestamped by the TSA when POSTCHECK_TSA_URL is set, with an artifact linking it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State

from postcheck import bundle
from postcheck import safe_markdown as md
from postcheck.domain import CheckReport
from postcheck.errors import TransientError
from postcheck.flows.tasks import NETWORK_TASK, with_retry_settings
from postcheck.services import services
from postcheck.timestamp import NoTimestamp, Token, request_token


@task(name="find-check", cache_policy=NO_CACHE)
def find_check(target: str) -> tuple[CheckReport, list[dict]]:
    return bundle.find_check(services().store, target)


@task(name="write-bundle", cache_policy=NO_CACHE)
def write_bundle(report: CheckReport, history: list[dict], output: str | None) -> bundle.Bundle:
    svc = services()
    path = bundle.bundle_path(output, svc.settings.data_dir, report.check_id)
    return bundle.build_bundle(
        report, history, svc.settings.data_dir, svc.media, path, svc.settings.tsa_url
    )


@task(name="request-timestamp", cache_policy=NO_CACHE, **NETWORK_TASK)
def request_timestamp(path: str) -> Token:
    """The TSA call: its own task, retried when a retry can help (unreachable, 5xx)."""
    settings = services().settings
    try:
        return request_token(bundle.read_manifest(Path(path)), settings.tsa_url, settings)
    except NoTimestamp as exc:
        if exc.transient:
            raise TransientError(str(exc)) from None
        raise


@task(name="attach-timestamp", cache_policy=NO_CACHE)
def attach_timestamp(made: bundle.Bundle, token: Token | None, reason: str | None) -> bundle.Bundle:
    return bundle.attach_timestamp(made, token, reason)


def artifact_markdown(made: bundle.Bundle, report: CheckReport) -> str:
    return "\n".join(
        [
            f"# Evidence bundle of check #{report.check_id}",
            "",
            f"- post: {md.link(report.url)}",
            f"- verdict: {md.text(report.verdict.value)}",
            # A file: link (the UI shows http(s) links only through md.link): the path quoted.
            f"- bundle: [{md.text(made.path)}]({md.url_target(made.path.as_uri())})",
            f"- manifest sha256: `{made.manifest_sha256}`",
            f"- files: {made.files} (manifest included), HTTP exchanges: {made.exchanges}",
            f"- timestamp: {md.text(made.timestamp)}",
        ]
    )


@flow(name="export-evidence", flow_run_name="export {target}")
def export_evidence(target: str, output: str | None = None) -> State:
    """Export the evidence of a check: `target` is a post URL (its latest check) or a check
    id; `output` a .zip path or a folder (default: the data folder's exports/)."""
    try:
        report, history = find_check(target)
    except Exception as exc:  # bad input: no such check, not a post URL
        return Failed(message=str(exc), data=exc)
    made = write_bundle(report, history, output)
    token, reason = None, "POSTCHECK_TSA_URL is not set"
    if services().settings.tsa_url:
        (stamp,) = with_retry_settings(request_timestamp)
        try:
            token = stamp(str(made.path))
        except (NoTimestamp, TransientError) as exc:
            reason = str(exc)
    made = attach_timestamp(made, token, reason)
    create_markdown_artifact(
        key=f"evidence-check-{report.check_id}",
        markdown=artifact_markdown(made, report),
        description=f"evidence bundle of check #{report.check_id}",
    )
    summary = (
        f"{made.path}: check #{report.check_id}, {made.exchanges} exchanges, "
        f"manifest sha256 {made.manifest_sha256}; {made.timestamp}"
    )
    get_run_logger().info(summary)
    return Completed(message=summary, data=asdict(made) | {"check_id": report.check_id})
