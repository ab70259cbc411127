"""A batch too long for a flow run's parameters reaches its flow as a file."""

import json
from pathlib import Path

FIX = Path(__file__).parents[1] / "fixtures"


def test_a_short_list_is_a_parameter_a_long_one_a_file(tmp_path):
    from postcheck.item_lists import PARAMETER_BYTES, as_parameters, items_of

    short = ["https://x.com/a/status/1", "https://x.com/b/status/2"]
    assert as_parameters(short, tmp_path) == (short, None)
    assert not (tmp_path / "lists").exists()
    # 10,000 post URLs: over Prefect's default max_parameter_size (512 KB) as JSON.
    long = [f"https://bsky.app/profile/bulk.example.org/post/3lbulk{i:07d}" for i in range(10_000)]
    assert len(json.dumps(long)) > 2 * PARAMETER_BYTES
    listed, path = as_parameters(long, tmp_path)
    assert listed is None and Path(path).parent == (tmp_path / "lists").resolve()
    assert items_of(None, path) == long and items_of(short, None) == short
    assert as_parameters(long, tmp_path)[1] == path  # the same list, the same file


def test_check_images_reads_its_sources_from_a_file(prefect_api, svc, monkeypatch):
    """The flow run holds the file's path, not the list; every item is checked, in order."""
    from prefect import get_client

    from postcheck import item_lists
    from postcheck.flows.check_images import check_images

    monkeypatch.setattr(item_lists, "PARAMETER_BYTES", 10)
    sources = [str(FIX / "images" / "x-coins.jpg"), str(FIX / "images" / "b-camera.jpg")]
    listed, path = item_lists.as_parameters(sources, svc.settings.data_dir)
    assert listed is None
    state = check_images(sources=listed, count=2, sources_file=path, return_state=True)
    reports = state.result()
    assert [Path(r.url).name for r in reports] == ["x-coins.jpg", "b-camera.jpg"]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.parameters["sources_file"] == path and run.parameters["sources"] is None
