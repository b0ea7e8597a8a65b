"""Loading projects: the example project, overlays, code files, lazy environment variables."""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from pathlib import Path

import pytest

from twideploy.errors import ManifestError
from twideploy.manifest import (
    Binding,
    FlowRef,
    FunctionRef,
    UrlTarget,
    load_project,
)
from twideploy.manifest.project import DEFAULT_EMULATOR_ACCOUNT_SID, EnvSecret
from twideploy.secrets import Secret

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "bad_inputs" / "base"
SID = "AC" + "a" * 32
KEY = "SK" + "b" * 32


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return root


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "p")
    return tmp_path / "p"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "CRM_TOKEN",
                 "MINI_ACCOUNT_SID", "MINI_AUTH_TOKEN", "X_URL"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- the example project


def test_example_project_loads_without_any_environment_variable():
    project = load_project(REPO)
    assert project.root == REPO
    assert project.name == "acme-contact-center"
    assert project.default_environment == "local"
    assert set(project.flows) == {"ivr-main", "sms-bot", "subflows/lookup-caller"}
    assert set(project.environments) == {"local", "staging", "prod"}  # base is abstract
    assert project.abstract_environments == {"base"}
    assert project.warnings == []


def test_example_flows():
    project = load_project(REPO)
    ivr = project.flows["ivr-main"]
    assert ivr.friendly_name == "Acme IVR"
    assert ivr.status == "published"
    assert ivr.file == REPO / "flows" / "ivr-main.yaml"
    assert ivr.definition["initial_state"] == "Trigger"  # filled in from the trigger
    assert set(ivr.definition) == {"description", "initial_state", "flags", "states"}
    lookup = next(s for s in ivr.definition["states"] if s["name"] == "lookup_caller")
    assert lookup["properties"]["function"] == "crm/lookup"  # still symbolic
    menu = next(s for s in ivr.definition["states"] if s["name"] == "main_menu")
    assert menu["properties"]["say"].startswith("${vars.greeting}")  # vars not substituted yet
    bot = project.flows["sms-bot"]
    assert bot.file.suffix == ".json"
    assert bot.friendly_name == "Acme SMS bot"
    assert "friendly_name" not in bot.definition and "status" not in bot.definition


def test_example_service_code_files():
    crm = load_project(REPO).services["crm"]
    assert (crm.unique_name, crm.friendly_name, crm.runtime, crm.ui_editable) == ("crm", "CRM lookups", "node22", False)
    assert crm.dependencies == {"axios": "^1.7.0"}
    assert {(f.path, f.visibility, f.kind) for f in crm.functions} == {
        ("/lookup", "protected", "function"), ("/hello", "public", "function")}
    assert [(a.path, a.visibility, a.kind) for a in crm.assets] == [("/hold.xml", "public", "asset")]
    lookup = crm.function("/lookup")
    assert lookup.content == (REPO / "functions/crm/functions/lookup.js").read_bytes()
    assert lookup.content_hash == hashlib.sha256(lookup.content).hexdigest()
    assert crm.variables == {"CRM_URL": "https://crm.example.com", "LOOKUP_TIMEOUT_MS": "3000"}


def test_example_environments_merge_base_and_override():
    project = load_project(REPO)
    staging = project.environments["staging"]
    assert staging.target == "twilio"
    assert staging.file == REPO / "environments" / "staging.yaml"
    assert staging.vars["greeting"] == "Welcome to Acme (staging)"          # overridden
    assert staging.vars["opening_hours"] == "Monday to Friday, 8am to 6pm"  # inherited from base
    assert staging.flows == ["ivr-main", "sms-bot", "subflows/lookup-caller"]
    crm = staging.services["crm"]
    assert (crm.environment, crm.domain_suffix) == ("staging", "stage")
    assert crm.variables["CRM_URL"] == "https://crm-staging.example.com"  # base's ${vars.crm_base_url}, staging's value
    assert crm.variables["LOOKUP_TIMEOUT_MS"] == "3000"                      # service.yaml default
    assert isinstance(crm.variables["CRM_TOKEN"], EnvSecret)
    assert staging.numbers["+15005550006"] == Binding(voice=FlowRef("ivr-main"), sms=FlowRef("sms-bot"))
    assert staging.numbers["+15005550007"] == Binding(
        voice=FunctionRef("crm", "/hello"), voice_fallback=UrlTarget("https://example.com/down"))
    prod = project.environments["prod"]
    assert prod.services["crm"].domain_suffix is None and prod.services["crm"].environment == "production"
    assert prod.prune is False
    local = project.environments["local"]
    assert local.target == "emulator" and local.prune is True
    assert local.services["crm"].variables["CRM_TOKEN"] == Secret("local-dev-token")
    assert local.missing_env() == []


def test_environment_lookup_errors_name_the_known_ones():
    project = load_project(REPO)
    with pytest.raises(ManifestError, match="unknown environment 'qa'; known environments: local, prod, staging"):
        project.environment("qa")
    with pytest.raises(ManifestError, match="'base' is abstract"):
        project.environment("base")
    assert project.environment("local").name == "local"


# --------------------------------------------------------------------------- credentials & lazy env


def test_credentials_are_read_when_asked_and_missing_ones_are_named(monkeypatch):
    staging = load_project(REPO).environment("staging")  # fine without env vars: secrets are lazy
    with pytest.raises(ManifestError) as info:
        staging.credentials()
    text = str(info.value)
    assert "environments/staging.yaml:8: environment variable TWILIO_ACCOUNT_SID is not set" in text
    assert "environments/staging.yaml:10: environment variable TWILIO_API_SECRET is not set" in text
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_API_KEY", KEY)
    monkeypatch.setenv("TWILIO_API_SECRET", "the-secret")
    credentials = staging.credentials()
    assert (credentials.account_sid, credentials.username) == (SID, KEY)
    assert credentials.password.reveal() == "the-secret"
    assert "the-secret" not in repr(credentials)


def test_auth_token_and_emulator_credentials(mini, monkeypatch):
    project = load_project(mini)
    monkeypatch.setenv("MINI_ACCOUNT_SID", SID)
    monkeypatch.setenv("MINI_AUTH_TOKEN", "tok")
    credentials = project.environment("prod").credentials()
    assert (credentials.account_sid, credentials.username, credentials.password.reveal()) == (SID, SID, "tok")
    emulator = project.environment("dev").credentials()
    assert emulator.account_sid == DEFAULT_EMULATOR_ACCOUNT_SID


def test_credentials_reject_malformed_sids(mini, monkeypatch):
    monkeypatch.setenv("MINI_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("MINI_AUTH_TOKEN", "tok")
    with pytest.raises(
        ManifestError, match=r"environments/prod.yaml:3: account.sid of environment 'prod' is not an account SID"
    ):
        load_project(mini).environment("prod").credentials()


def test_secret_env_var_is_resolved_only_on_reveal(monkeypatch):
    token = load_project(REPO).environments["staging"].services["crm"].variables["CRM_TOKEN"]
    with pytest.raises(ManifestError, match=r"environments/base.yaml:15: environment variable CRM_TOKEN is not set "
                                            r"\(needed by services.crm.variables.CRM_TOKEN of environment 'staging'\)"):
        token.reveal()
    monkeypatch.setenv("CRM_TOKEN", "t0k3n")
    assert token.reveal() == "t0k3n"
    assert str(token) == "***"


def test_non_secret_env_var_is_required_by_project_environment(mini, monkeypatch):
    write(mini, {"environments/dev.yaml": (mini / "environments/dev.yaml").read_text().replace(
        "  greeting: Hello there\n", "  greeting: Hello there\n  api: ${env:X_URL}/v1\n")})
    project = load_project(mini)  # loading is fine...
    assert project.environments["dev"].vars["api"] == "${env:X_URL}/v1"
    with pytest.raises(ManifestError, match=r"environments/dev.yaml:4: environment variable X_URL is not set"):
        project.environment("dev")  # ...using the environment is not
    monkeypatch.setenv("X_URL", "https://x.example")
    assert load_project(mini).environment("dev").vars["api"] == "https://x.example/v1"


# --------------------------------------------------------------------------- overlays


def test_overlay_chain_deep_merges_mappings_and_replaces_lists(mini):
    write(mini, {
        "environments/common.yaml": """\
            abstract: true
            target: emulator
            vars: {a: one, b: two}
            services:
              svc:
                environment: common
                variables: {X: "1", Y: "2"}
            flows: [main, sub]
            prune: true
            """,
        "environments/middle.yaml": """\
            abstract: true
            extends: common
            vars: {b: middle}
            services:
              svc:
                variables: {Y: from-middle}
            """,
        "environments/leaf.yaml": """\
            extends: middle
            vars: {c: three, greeting: hi}
            flows: [sub]
            """,
    })
    project = load_project(mini)
    assert "common" not in project.environments and "middle" not in project.environments
    leaf = project.environments["leaf"]
    assert leaf.vars == {"a": "one", "b": "middle", "c": "three", "greeting": "hi"}
    assert leaf.services["svc"].environment == "common"
    assert leaf.services["svc"].variables == {"X": "1", "Y": "from-middle"}
    assert leaf.flows == ["sub"]  # lists are replaced, not concatenated
    assert leaf.prune is True
    assert leaf.target == "emulator"
    # Lines still point at the file that wrote each value.
    assert leaf.lines.locate(("vars", "a")) == ("environments/common.yaml", 3)
    assert leaf.lines.locate(("vars", "b")) == ("environments/middle.yaml", 3)
    assert leaf.lines.locate(("flows", 0)) == ("environments/leaf.yaml", 3)


def test_abstract_is_not_inherited(mini):
    write(
        mini,
        {
            "environments/common.yaml": "abstract: true\ntarget: emulator\nflows: [main, sub]\nservices: {svc: {}}\n",
            "environments/child.yaml": "extends: common\nvars: {greeting: hi}\n",
        },
    )
    project = load_project(mini)
    assert "child" in project.environments and "common" not in project.environments


# --------------------------------------------------------------------------- code files and flows


def test_code_file_paths_and_visibility(mini):
    write(mini, {
        "functions/svc/functions/api/v1/orders.private.js": "x",
        "functions/svc/functions/open.public.js": "x",
        "functions/svc/functions/README.md": "not code",
        "functions/svc/assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\xff",
        "functions/svc/assets/docs/internal.private.txt": "secret doc",
        "functions/svc/assets/robots.txt": "ok",
        "functions/svc/assets/.DS_Store": "junk",
    })
    project = load_project(mini)
    svc = project.services["svc"]
    assert {(f.path, f.visibility) for f in svc.functions} == {
        ("/hello", "protected"), ("/api/v1/orders", "private"), ("/open", "public")}
    assert {(a.path, a.visibility) for a in svc.assets} == {
        ("/logo.png", "public"), ("/docs/internal.txt", "private"), ("/robots.txt", "public")}
    assert svc.file("/logo.png").content == b"\x89PNG\r\n\x1a\n\x00\xff"  # binary content as is
    assert any(str(w).startswith("functions/svc/functions/README.md:1: warning: ignored") for w in project.warnings)


def test_flow_defaults_and_nested_names(mini):
    write(mini, {"flows/sub/deeper.yaml": "status: draft\nstates:\n  - {name: T, type: trigger}\n"})
    project = load_project(mini)
    flow = project.flows["sub/deeper"]
    assert (flow.friendly_name, flow.status) == ("sub/deeper", "draft")
    assert flow.definition == {"description": "", "initial_state": "T", "flags": {"allow_concurrent_calls": True},
                               "states": [{"name": "T", "type": "trigger", "properties": {}, "transitions": []}]}


def test_scalar_vars_become_strings(mini):
    write(mini, {"environments/dev.yaml": (mini / "environments/dev.yaml").read_text().replace(
        "  greeting: Hello there\n", "  greeting: Hello there\n  n: 3\n  on: true\n  day: 2024-01-31\n")})
    assert load_project(mini).environments["dev"].vars == {
        "greeting": "Hello there", "n": "3", "on": "true", "day": "2024-01-31"}


def test_load_project_lists_all_problems_at_once(mini):
    write(mini, {"twideploy.yaml": "name: mini\ndefault_environment: dev\ncolour: blue\n",
                 "flows/sub.yaml": "states: [\n",
                 "functions/svc/service.yaml": "runtime: node16\n"})
    with pytest.raises(ManifestError) as info:
        load_project(mini)
    files = {p.file for p in info.value.problems}
    assert files == {"twideploy.yaml", "flows/sub.yaml", "functions/svc/service.yaml"}
    assert all(p.line > 0 for p in info.value.problems)


def test_missing_project_file(tmp_path):
    with pytest.raises(ManifestError, match="twideploy.yaml: not found"):
        load_project(tmp_path)
