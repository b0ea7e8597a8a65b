"""The repository's schemas/ (what the example manifests' modelines point at) match the models."""

from pathlib import Path

from twideploy.cli.schema import write_schemas

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current(tmp_path):
    written = write_schemas(tmp_path)
    assert written
    for path in written:
        committed = REPO / "schemas" / path.name
        assert committed.read_text() == path.read_text(), f"run `twideploy schema --out schemas` ({path.name})"
