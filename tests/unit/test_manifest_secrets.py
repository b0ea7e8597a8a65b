"""Secrets never show: not in str, repr, to_dict/JSON of the models, nor in problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twideploy.manifest import load_project
from twideploy.manifest.project import EnvSecret, mask
from twideploy.secrets import MASK, Secret

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(monkeypatch):
    monkeypatch.setenv("CRM_TOKEN", "crm-token-VALUE-123")
    monkeypatch.setenv("TWILIO_API_SECRET", "api-secret-VALUE-456")
    return load_project(REPO)


def renderings(obj) -> str:
    return "\n".join([str(obj), repr(obj), json.dumps(mask(obj)), json.dumps(obj.to_dict())])


def test_environment_renderings_mask_secrets(project):
    for name in ("local", "staging", "prod"):
        env = project.environments[name]
        text = renderings(env) + renderings(env.services["crm"])
        assert "crm-token-VALUE-123" not in text
        assert "local-dev-token" not in text
        assert MASK in text


def test_project_renderings_mask_secrets(project):
    text = renderings(project)
    assert "crm-token-VALUE-123" not in text and "local-dev-token" not in text
    # the values are really there, for whoever reveals them
    assert project.environments["staging"].services["crm"].variables["CRM_TOKEN"].reveal() == "crm-token-VALUE-123"
    assert project.environments["local"].services["crm"].variables["CRM_TOKEN"].reveal() == "local-dev-token"


def test_credentials_mask_the_password(project, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "a" * 32)
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "b" * 32)
    credentials = project.environment("staging").credentials()
    assert "api-secret-VALUE-456" not in f"{credentials} {credentials!r}"
    assert credentials.password.reveal() == "api-secret-VALUE-456"


def test_env_secret_behaves_like_a_secret():
    secret = EnvSecret(lambda: "v", ("env", "label"))
    assert isinstance(secret, Secret)
    assert (str(secret), repr(secret), f"{secret}", f"{secret:>10}") == (MASK, f"Secret({MASK})", MASK, MASK)
    assert secret == EnvSecret(lambda: "other", ("env", "label"))  # same origin, same secret
    assert secret != EnvSecret(lambda: "v", ("env", "other"))
    assert secret.reveal() == "v"


def test_secret_var_values_are_masked_in_vars(tmp_path):
    import shutil
    shutil.copytree(REPO / "tests/bad_inputs/base", tmp_path / "p")
    dev = tmp_path / "p/environments/dev.yaml"
    dev.write_text(dev.read_text().replace("  greeting: Hello there\n",
                                           "  greeting: Hello there\n  pin: {secret: \"9876-5432\"}\n"))
    env = load_project(tmp_path / "p").environments["dev"]
    assert isinstance(env.vars["pin"], Secret)
    assert "9876-5432" not in renderings(env)
