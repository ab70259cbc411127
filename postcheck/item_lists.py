"""A batch's items (URLs, paths) too many for a flow run's parameters. Prefect refuses a
flow run whose parameters exceed its server's `max_parameter_size` (512 KB by default:
about 8,000 post URLs), so a longer list goes to a file in the data folder and the flow
run takes its path; a shorter one stays a parameter, readable in the UI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PARAMETER_BYTES = 256 * 1024  # half Prefect's default limit: room for the other parameters


def as_parameters(items: list[str], data_dir: Path) -> tuple[list[str] | None, str | None]:
    """(the items, None) when they fit a flow run's parameters, else (None, the path of a
    file holding them), content-addressed under <data>/lists/."""
    text = json.dumps(items)
    if len(text.encode()) <= PARAMETER_BYTES:
        return items, None
    folder = data_dir / "lists"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return None, str(path.resolve())


def items_of(items: list[str] | None, items_file: str | None) -> list[str]:
    """The items a flow run was given, as a parameter or in a file."""
    if items is not None:
        return items
    if items_file is None:
        return []
    return list(json.loads(Path(items_file).read_text()))
