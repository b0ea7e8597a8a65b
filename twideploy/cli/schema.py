"""`twideploy schema`: JSON Schemas of the manifest files, for editors and CI."""

from __future__ import annotations

import json
from pathlib import Path

import click

SCHEMA_DIR = "schemas"


def schema_file(kind: str) -> str:
    return f"{kind}.schema.json"


def write_schemas(directory: Path, kinds: list[str] | None = None) -> list[Path]:
    """Write `<kind>.schema.json` for each kind into `directory`; the paths written."""
    from twideploy.manifest.models import KINDS, json_schema

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in kinds or list(KINDS):
        path = directory / schema_file(kind)
        path.write_text(json.dumps(json_schema(kind), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


@click.command()
@click.option("--kind", type=click.Choice(["project", "environment", "flow", "service"]),
              help="One kind of file. Default: all four.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write <kind>.schema.json files into this folder (e.g. schemas/) instead of printing.")
def schema(kind: str | None, out_dir: Path | None) -> None:
    """Print or write the JSON Schemas of twideploy.yaml, environment, flow and service files."""
    from twideploy.manifest.models import KINDS, json_schema

    kinds = [kind] if kind else list(KINDS)
    if out_dir is not None:
        for path in write_schemas(out_dir, kinds):
            click.echo(f"wrote {path}")
        return
    if kind:
        click.echo(json.dumps(json_schema(kind), indent=2))
    else:
        click.echo(json.dumps({k: json_schema(k) for k in kinds}, indent=2))
