"""Secret values are replaced wherever they appear in text a plan or an error carries, and
where the manifests put a secret var even when the live value is an earlier one."""

from types import SimpleNamespace

from twideploy.manifest.references import AddressBook, compile_flow, mask_secret_strings, restore_secret_strings
from twideploy.plan.flowdiff import diff_shown
from twideploy.plan.model import Action, Change, WidgetChange
from twideploy.plan.planner import mask_secrets, mask_text
from twideploy.providers import serverless
from twideploy.secrets import Secret


def test_mask_text_replaces_every_secret_longest_first():
    text = "POST failed: Value=abc123XYZ and token abc123 (abc123XYZ)"
    assert mask_text(text, ["abc123", "abc123XYZ"]) == "POST failed: Value=*** and token *** (***)"
    assert mask_text(text, []) == text


def test_mask_secrets_reaches_before_after_and_widget_values():
    change = Change("flow", "flow.x", Action.UPDATE, {"url": "https://x/?t=s3cr3t"}, {"url": "https://x/?t=n3w"},
                    [WidgetChange("w", "property", "url", "https://x/?t=s3cr3t", "https://x/?t=n3w")])
    [masked] = mask_secrets([change], ["s3cr3t", "n3w"])
    assert "s3cr3t" not in repr(masked) and "n3w" not in repr(masked)
    assert masked.widgets[0].before == "https://x/?t=***"


# --------------------------------------------------------------------------- secrets by position

SYMBOLIC = {"description": "IVR", "states": [
    {"name": "T", "type": "trigger", "properties": {}, "transitions": [{"event": "incomingCall", "next": "say"}]},
    {"name": "say", "type": "say-play",
     "properties": {"say": "${vars.greeting}, your PIN is ${vars.pin}.", "loop": 1,
                    "parameters": [{"key": "pin", "value": "${vars.pin}"}, {"key": "lang", "value": "en"}]},
     "transitions": [{"event": "audioComplete"}]}]}


def compiled(pin: str, greeting: str = "Hello") -> dict:
    return compile_flow(SYMBOLIC, vars={"greeting": greeting, "pin": Secret(pin)}, book=AddressBook())


VARS = {"greeting": "Hello", "pin": Secret("new-pin-2222")}


def test_a_rotated_secret_is_masked_where_the_manifests_put_it_not_by_its_value():
    live = compiled("old-pin-1111")  # the live flow still holds the earlier value
    shown = mask_secret_strings(live, SYMBOLIC, VARS)
    assert "old-pin-1111" not in repr(shown)
    assert shown["states"][1]["properties"]["say"] == "Hello, your PIN is ***."
    assert shown["states"][1]["properties"]["parameters"] == [{"key": "pin", "value": "***"},
                                                             {"key": "lang", "value": "en"}]
    assert mask_secret_strings(compiled("new-pin-2222"), SYMBOLIC, VARS) == shown
    live["states"][1]["properties"]["say"] = "Hi, your PIN is old-pin-1111!"  # edited around the secret too
    assert mask_secret_strings(live, SYMBOLIC, VARS)["states"][1]["properties"]["say"] == "***"
    assert mask_secret_strings(live, {"states": []}, VARS) is live  # no secret var: nothing to mask


def test_the_widget_diff_shows_only_masked_values_but_still_sees_a_rotation():
    live, desired = compiled("old-pin-1111", "Hi"), compiled("new-pin-2222")
    changes = diff_shown(live, desired, mask_secret_strings(live, SYMBOLIC, VARS),
                         mask_secret_strings(desired, SYMBOLIC, VARS))
    assert "pin-" not in repr(changes)
    by_detail = {c.detail: (c.before, c.after) for c in changes}
    assert by_detail == {"say": ("***", "Hello, your PIN is ***."), "parameters[0].value": ("***", "***")}


def test_a_decompiled_flow_gets_the_template_back_where_an_earlier_secret_is():
    live = compiled("old-pin-1111")
    symbolic = {**live, "states": [dict(s, properties=dict(s["properties"])) for s in live["states"]]}
    assert restore_secret_strings(symbolic, live, SYMBOLIC, VARS) == []
    assert symbolic["states"][1]["properties"]["say"] == "${vars.greeting}, your PIN is ${vars.pin}."
    live["states"][1]["properties"]["say"] = "Hi, your PIN is old-pin-1111!"
    assert restore_secret_strings(symbolic, live, SYMBOLIC, VARS) == ["widget say: properties.say"]
    assert "old-pin-1111" not in repr(symbolic)


def test_a_live_variable_value_is_shown_only_when_it_is_the_manifests_own():
    """A variable the manifests have made a plain value may still hold a secret live."""
    source = SimpleNamespace(unique_name="crm", friendly_name="crm", ui_editable=False, functions=[], assets=[],
                             runtime="node22", dependencies={})
    settings = SimpleNamespace(environment="dev", domain_suffix=None,
                               variables={"DOOR": "plain-now", "URL": "https://x", "TOKEN": Secret("t2")})
    live = serverless.LiveService("ZS1", "crm", "crm", False,
                                  variables={"DOOR": ("ZV1", "was-secret-1"), "URL": ("ZV2", "https://x"),
                                             "TOKEN": ("ZV3", "t1")})
    changes = {c.address.name: c for c in serverless.plan("crm", source, settings, live, False)
               if c.kind == "variable"}
    assert (changes["DOOR"].action, changes["DOOR"].before) == (Action.UPDATE, {"value": "(sensitive value)"})
    assert changes["URL"].before == changes["URL"].after == {"value": "https://x"}
    assert "was-secret-1" not in repr(changes) and "t1" not in repr(changes)
