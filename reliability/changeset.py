"""The change set every campaign run applies: one edit of every resource kind, so an apply
has many writes of every sort and its rollback many undo steps of every sort.

The edits are made on the parsed manifests (not on their text), so they keep working when
the example project is reworded.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

_yaml = YAML()

NEW_FLOW = """\
# Added by the reliability campaign's change set: a new flow the change set binds a number to.
friendly_name: Acme after hours
description: SMS answer outside opening hours
status: published
states:
  - name: Trigger
    type: trigger
    properties: {offset: {x: 0, y: 0}}
    transitions:
      - {event: incomingMessage, next: closed}
  - name: closed
    type: send-message
    properties:
      from: "{{flow.channel.address}}"
      to: "{{contact.channel.address}}"
      body: We are closed. We are open ${vars.opening_hours}.
      offset: {x: 0, y: 200}
    transitions:
      - {event: sent}
      - {event: failed}
"""

#: What the change set does, one line per resource kind (the campaign prints it).
SUMMARY = [
    "flow.ivr-main: a say-play text and the greeting var it uses (update)",
    "flow.subflows/lookup-caller: a set-variables value (update)",
    "flow.after-hours: new (create)",
    "flow.sms-bot: dropped from the environment (prune: delete)",
    "service.crm: friendly_name and a new dependency (service update, build)",
    "function /lookup: code (new version); function /hello: file removed (prune: delete)",
    "asset /hold.xml: content (new version)",
    "variables: CRM_URL changed, LOOKUP_TIMEOUT_MS removed (prune), FEATURE_FLAG added",
    "number +15005550006: sms rebound to after-hours; +15005550007: voice to ivr-main, new fallback",
]


def _edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = _yaml.load(path.read_text())
    change(data)
    buffer = io.StringIO()
    _yaml.dump(data, buffer)
    path.write_text(buffer.getvalue())


def _first(states: list[Any], kind: str) -> Any:
    return next(s for s in states if s["type"] == kind)


def apply_change_set(root: Path) -> None:
    """Edit the example project at `root` in place."""
    def environment(env: Any) -> None:
        env["vars"]["greeting"] = "Welcome to Acme (local, changed by the campaign)"
        env["vars"]["crm_base_url"] = "http://localhost:8082"
        env["services"]["crm"]["variables"]["FEATURE_FLAG"] = "on"
        env["flows"] = [name for name in env["flows"] if name != "sms-bot"] + ["after-hours"]
        env["numbers"]["+15005550006"]["sms"] = "flow:after-hours"
        env["numbers"]["+15005550007"] = {"voice": "flow:ivr-main", "voice_fallback": "https://example.com/maintenance"}

    def service(spec: Any) -> None:
        spec["friendly_name"] = f"{spec['friendly_name']} (changed)"
        spec["dependencies"]["lodash"] = "^4.17.21"
        del spec["variables"]["LOOKUP_TIMEOUT_MS"]

    def unbind_hello(env: Any) -> None:  # /hello is pruned: no environment may bind it any more
        for binding in (env.get("numbers") or {}).values():
            for key, target in binding.items():
                if target == "function:crm/hello":
                    binding[key] = "flow:ivr-main"

    _edit_yaml(root / "environments/local.yaml", environment)
    for other in sorted((root / "environments").glob("*.yaml")):
        _edit_yaml(other, unbind_hello)
    _edit_yaml(root / "functions/crm/service.yaml", service)
    _edit_yaml(root / "flows/ivr-main.yaml",
               lambda flow: _first(flow["states"], "say-play")["properties"].__setitem__("say", "Sorry, try again."))
    _edit_yaml(root / "flows/subflows/lookup-caller.yaml",
               lambda flow: _first(flow["states"], "set-variables")["properties"]["variables"][1]
               .__setitem__("value", "{{widgets.lookup.parsed.tier | default: 'standard'}}"))
    (root / "flows/after-hours.yaml").write_text(NEW_FLOW)
    lookup = root / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text() + "// changed by the reliability campaign\n")
    hold = root / "functions/crm/assets/hold.xml"
    hold.write_text(hold.read_text() + "<!-- changed by the reliability campaign -->\n")
    (root / "functions/crm/functions/hello.public.js").unlink()
