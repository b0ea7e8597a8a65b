"""Export: write manifests from a live account, so a team can adopt an account built by hand.

A loop over the provider registry: each kind reads the whole account (flows, services with
their deployed code, numbers) and enters what others refer to into one AddressBook, which
turns the SIDs in the flows back into symbolic references (`function: svc/path`,
`flow: name`, `${vars.x}`). Then each kind chooses what it exports, in reverse registry order
(the flows named, plus their subflows, decide which services go with them), and writes its
files and its part of the environment file, in registry order (a number is exported when it
points at what is exported). The per-kind rules are in each provider's `export`
(`providers/flows.py`, `serverless.py`, `numbers.py`).

No secret value is written to a file (the providers say how). Files are created, or updated in
place with ruamel.yaml round-trip (comments, key order, quoting and folded strings survive; see
`yaml_writer`); a file whose content already means the same is not touched. After `export`,
`plan` against the same account shows no changes.
"""

from __future__ import annotations

from pathlib import Path

from twideploy.manifest import Environment, Project, load_project
from twideploy.providers.base import ExportContext, ExportReport
from twideploy.providers.registry import PROVIDERS
from twideploy.twilio_api.gateway import Gateway
from twideploy.workspace import open_account
from twideploy.yaml_writer import plain, read_document


def export_account(project: Project, env: Environment, gw: Gateway, *, flows: list[str] | None = None) -> ExportReport:
    """Export `env`'s account into `project`'s files: all of it, or the flows named (by file
    name or friendly name) with what they need."""
    existing = read_document(env.file)
    ctx = ExportContext(gw, project, env, flows, ExportReport(env.name),
                        plain(existing) if existing is not None else {})
    kinds = [provider.export(ctx) for provider in PROVIDERS]
    for kind in reversed(kinds):
        kind.select(ctx)
    for kind in kinds:
        kind.write(ctx)
    if ctx.environment_changed:
        ctx.write(env.file, existing, ctx.environment)
    else:
        ctx.report.unchanged.append(ctx.rel(env.file))
    return ctx.report


def export(root: Path, env_name: str | None, *, flows: list[str] | None = None) -> ExportReport:
    project = load_project(root)
    env = project.environment(project.default_environment if env_name is None else env_name)
    with open_account(project, env) as gw:
        return export_account(project, env, gw, flows=flows)
