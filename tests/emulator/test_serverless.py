"""Serverless v1: services, environments, uploads and versions, builds, deployments, variables."""

from __future__ import annotations

import re

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.emulator.helpers import upload_version
from twideploy.emulator import FaultConfig

CODE = b"exports.handler = function (context, event, callback) { callback(null, 'hi'); };"


@pytest.fixture
def service(client):
    return client.serverless.v1.services.create(unique_name="crm", friendly_name="CRM")


def upload(emu, service, function_sid, path="/lookup", content=CODE, **kwargs):
    response = upload_version(emu, service.sid, "Functions", function_sid, path=path, content=content, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def test_service_defaults_and_lookup_by_unique_name(client, service):
    assert service.sid.startswith("ZS")
    assert (service.include_credentials, service.ui_editable) == (True, False)
    assert re.fullmatch(r"crm-\d{4}", service.domain_base)
    assert client.serverless.v1.services("crm").fetch().sid == service.sid
    assert client.serverless.v1.services("crm").functions.list() == []  # unique_name works in sub-paths
    updated = client.serverless.v1.services("crm").update(ui_editable=True, friendly_name="CRM 2")
    assert (updated.ui_editable, updated.friendly_name, updated.sid) == (True, "CRM 2", service.sid)


def test_duplicate_service_and_environment_names_conflict(client, service):
    with pytest.raises(TwilioRestException) as error:
        client.serverless.v1.services.create(unique_name="crm", friendly_name="again")
    assert error.value.status == 409
    envs = client.serverless.v1.services(service.sid).environments
    envs.create(unique_name="staging", domain_suffix="stage")
    for kwargs in ({"unique_name": "staging"}, {"unique_name": "other", "domain_suffix": "stage"}):
        with pytest.raises(TwilioRestException) as error:
            envs.create(**kwargs)
        assert error.value.status == 409
    assert len(envs.list()) == 1


def test_environment_domain_names_derive_from_the_service(client, service):
    envs = client.serverless.v1.services(service.sid).environments
    staging = envs.create(unique_name="staging", domain_suffix="stage")
    production = envs.create(unique_name="production")
    assert staging.domain_name == f"{service.domain_base}-stage.twil.io"
    assert production.domain_name == f"{service.domain_base}.twil.io"
    assert (staging.sid[:2], staging.build_sid, production.domain_suffix) == ("ZE", None, None)


def test_uploaded_versions_are_listed_and_their_content_read_back(client, emu, service):
    svc = client.serverless.v1.services(service.sid)
    function = svc.functions.create(friendly_name="lookup")
    first = upload(emu, service, function.sid, visibility="public")
    second = upload(emu, service, function.sid, content=b"// v2")
    assert first["sid"].startswith("ZN") and first["function_sid"] == function.sid
    assert (first["path"], first["visibility"], second["visibility"]) == ("/lookup", "public", "protected")
    versions = svc.functions(function.sid).function_versions.list()
    assert [v.sid for v in versions] == [first["sid"], second["sid"]]
    content = svc.functions(function.sid).function_versions(first["sid"]).function_version_content().fetch()
    assert content.content == CODE.decode()
    assert svc.functions(function.sid).function_versions(second["sid"]).fetch().path == "/lookup"

    asset = svc.assets.create(friendly_name="logo")
    png = bytes(range(256))
    av = upload_version(emu, service.sid, "Assets", asset.sid, path="/logo.png", content=png, visibility="private")
    assert av.status_code == 201 and av.json()["asset_sid"] == asset.sid
    assert [v.visibility for v in svc.assets(asset.sid).asset_versions.list()] == ["private"]


def test_upload_checks_its_fields(emu, service, client):
    function = client.serverless.v1.services(service.sid).functions.create(friendly_name="f")
    bad = upload_version(emu, service.sid, "Functions", function.sid, path="/f", content=b"", visibility="secret")
    assert bad.status_code == 400 and bad.json()["code"] == 20001
    unknown = upload_version(emu, service.sid, "Functions", "ZH" + "0" * 32, path="/f", content=b"")
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404


def test_build_is_building_then_completed_and_keeps_what_it_was_given(client, emu, service):
    svc = client.serverless.v1.services(service.sid)
    function = svc.functions.create(friendly_name="lookup")
    version = upload(emu, service, function.sid)
    build = svc.builds.create(function_versions=[version["sid"]], runtime="node20",
                              dependencies='[{"name": "axios", "version": "1.7.0"}]')
    assert (build.status, build.runtime) == ("building", "node20")
    assert build.dependencies == [{"name": "axios", "version": "1.7.0"}]
    assert build.function_versions == [{
        "sid": version["sid"], "account_sid": emu.account_sid, "service_sid": service.sid,
        "function_sid": function.sid, "date_created": version["date_created"], "path": "/lookup",
        "visibility": "protected"}]
    assert build.asset_versions == []
    assert svc.builds(build.sid).build_status().fetch().status == "completed"
    assert svc.builds(build.sid).fetch().status == "completed"
    assert svc.builds.create().runtime == "node22"


def test_build_takes_dependencies_in_literal_quotes_as_twilios_node_client_sends_them(client, service):
    """@twilio-labs/serverless-api (`twilio serverless:deploy`) sends `"` + JSON.stringify(deps) + `"`."""
    builds = client.serverless.v1.services(service.sid).builds
    build = builds.create(dependencies='"[{"name":"axios","version":"1.7.0"},{"name":"lodash","version":"^4"}]"')
    assert build.dependencies == [{"name": "axios", "version": "1.7.0"}, {"name": "lodash", "version": "^4"}]
    assert builds.create(dependencies='"[]"').dependencies == []


def test_build_rejects_unknown_versions_and_bad_dependencies(client, service):
    builds = client.serverless.v1.services(service.sid).builds
    for kwargs in ({"function_versions": ["ZN" + "0" * 32]}, {"dependencies": "not json"},
                   {"dependencies": '{"axios": "1"}'}, {"dependencies": '"{"axios": "1"}"'},
                   {"dependencies": '""'}, {"runtime": "node4"}):
        with pytest.raises(TwilioRestException) as error:
            builds.create(**kwargs)
        assert (error.value.status, error.value.code) == (400, 20001)
    assert builds.list() == []


def test_fail_next_build_fails_exactly_one_build_which_cannot_be_deployed(client, emu, service):
    svc = client.serverless.v1.services(service.sid)
    env = svc.environments.create(unique_name="production")
    emu.set_faults(FaultConfig(fail_next_build=True))
    failed = svc.builds.create()
    assert failed.status == "building"
    assert svc.builds(failed.sid).build_status().fetch().status == "failed"
    assert svc.builds.create().status == "building"
    assert [b.status for b in svc.builds.list()] == ["failed", "completed"]
    with pytest.raises(TwilioRestException) as error:
        svc.environments(env.sid).deployments.create(build_sid=failed.sid)
    assert error.value.status == 400 and "failed" in error.value.msg
    assert svc.environments(env.sid).fetch().build_sid is None


def test_deployment_points_the_environment_at_a_completed_build(client, service):
    svc = client.serverless.v1.services(service.sid)
    env = svc.environments.create(unique_name="production")
    build = svc.builds.create()
    with pytest.raises(TwilioRestException):  # not yet polled: still building
        svc.environments(env.sid).deployments.create(build_sid=build.sid)
    svc.builds(build.sid).build_status().fetch()
    deployment = svc.environments(env.sid).deployments.create(build_sid=build.sid)
    assert (deployment.sid[:2], deployment.build_sid, deployment.environment_sid) == ("ZD", build.sid, env.sid)
    assert svc.environments(env.sid).fetch().build_sid == build.sid
    assert [d.sid for d in svc.environments(env.sid).deployments.list()] == [deployment.sid]


def test_variables_have_unique_keys_per_environment(client, service):
    envs = client.serverless.v1.services(service.sid).environments
    staging, production = envs.create(unique_name="staging"), envs.create(unique_name="production")
    variable = envs(staging.sid).variables.create(key="CRM_URL", value="https://a")
    envs(production.sid).variables.create(key="CRM_URL", value="https://b")  # another environment: fine
    with pytest.raises(TwilioRestException) as error:
        envs(staging.sid).variables.create(key="CRM_URL", value="https://c")
    assert (error.value.status, error.value.code) == (400, 20001)
    other = envs(staging.sid).variables.create(key="TOKEN", value="x")
    with pytest.raises(TwilioRestException):
        envs(staging.sid).variables(other.sid).update(key="CRM_URL")
    assert envs(staging.sid).variables(variable.sid).update(value="https://d").value == "https://d"
    assert {(v.key, v.value) for v in envs(staging.sid).variables.list()} == {("CRM_URL", "https://d"),
                                                                               ("TOKEN", "x")}
    envs(staging.sid).variables(other.sid).delete()
    assert [v.key for v in envs(staging.sid).variables.list()] == ["CRM_URL"]


def test_deleting_a_service_deletes_everything_under_it(client, emu, service):
    svc = client.serverless.v1.services(service.sid)
    function = svc.functions.create(friendly_name="lookup")
    upload(emu, service, function.sid)
    svc.environments.create(unique_name="production")
    svc.delete()
    with pytest.raises(TwilioRestException) as error:
        svc.functions(function.sid).fetch()
    assert error.value.status == 404
    with pytest.raises(TwilioException, match="20404"):
        svc.environments.list()
    again = client.serverless.v1.services.create(unique_name="crm", friendly_name="CRM")
    assert client.serverless.v1.services(again.sid).functions.list() == []
