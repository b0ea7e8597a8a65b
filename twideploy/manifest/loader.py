"""Loading a project directory: every manifest parsed, checked against its schema, built into a Project.

`analyze` never stops at the first problem: it loads whatever is loadable and returns every
problem found, so `validate` can list them all; `load_project` raises them as one
ManifestError. The work is split by folder: `flow_loader` (flows/), `service_loader`
(functions/), `environment_loader` and `environment_builder` (environments/), all reading
through `files.ProjectFiles`, which reads only inside the project and collects the problems;
parsing itself is bounded in `documents`. This module loads twideploy.yaml and checks what
spans the folders (the default environment).
"""

from __future__ import annotations

from pathlib import Path

from twideploy.errors import ManifestError, Problem
from twideploy.manifest.environment_loader import load_environments
from twideploy.manifest.files import ProjectFiles
from twideploy.manifest.flow_loader import load_flows
from twideploy.manifest.models import ProjectSpec
from twideploy.manifest.project import Project
from twideploy.manifest.service_loader import load_services

PROJECT_FILE = "twideploy.yaml"


def load_project(root: Path | str) -> Project:
    """Parse and schema-check every manifest under `root`; ManifestError lists all problems."""
    project, problems = analyze(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ManifestError(errors)
    project.warnings = [p for p in problems if p.severity != "error"]
    return project


def analyze(root: Path | str) -> tuple[Project, list[Problem]]:
    """Load what can be loaded; return the (possibly partial) project and every problem."""
    files = ProjectFiles(Path(root).resolve())
    return _load(files), files.problems


def _load(files: ProjectFiles) -> Project:
    if not files.root.is_dir():
        files.error(str(files.root), 0, "project directory does not exist")
        return Project(files.root, "", "", {}, {}, {})
    spec = _load_project_file(files)
    flows = load_flows(files)
    services = load_services(files)
    environments, abstract = load_environments(files, services)
    if (not environments and not abstract and PROJECT_FILE in files.sources
            and not any(b.startswith("env:") for b in files.broken)):
        files.error("environments", 0, "no environments: add environments/<name>.yaml")
    project = Project(
        root=files.root,
        name=spec.name if spec else "",
        default_environment=spec.default_environment if spec else "",
        flows=flows,
        services=services,
        environments=environments,
        sources=files.sources,
        abstract_environments=abstract,
        broken=files.broken,
    )
    if spec and spec.default_environment not in environments and f"env:{spec.default_environment}" not in files.broken:
        lines = files.sources[PROJECT_FILE]
        known = ", ".join(sorted(environments)) or "none"
        what = "is abstract" if spec.default_environment in abstract else "is not an environment"
        files.problems.append(lines.problem(
            ("default_environment",),
            f"default_environment {spec.default_environment!r} {what} (environments: {known})",
        ))
    return project


def _load_project_file(files: ProjectFiles) -> ProjectSpec | None:
    path = files.root / PROJECT_FILE
    if not path.is_file():
        files.error(PROJECT_FILE, 0, f"not found: {files.root} is not a twideploy project (run `twideploy init`)")
        return None
    doc = files.read(path)
    return files.check(ProjectSpec, doc) if doc else None
