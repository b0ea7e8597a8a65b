"""The whole live account as plain data, read with the SDK, for before/after comparisons.

Flow revision numbers are left out on purpose: a rollback writes the old definition back
as a *new* revision (Studio cannot delete revisions), so "as before" means same content.
"""

from __future__ import annotations

import json
from typing import Any

from twideploy.twilio_api.gateway import Gateway


def account_state(gw: Gateway) -> dict[str, Any]:
    client = gw.client
    flows = {}
    for f in client.studio.v2.flows.list(page_size=1000):
        full = client.studio.v2.flows(f.sid).fetch()
        definition = full.definition if isinstance(full.definition, dict) else json.loads(full.definition)
        flows[f.friendly_name] = {"sid": f.sid, "status": full.status, "definition": definition}
    services = {}
    for s in client.serverless.v1.services.list(page_size=1000):
        api = client.serverless.v1.services(s.sid)
        envs = {}
        for e in api.environments.list(page_size=1000):
            variables = {v.key: v.value for v in api.environments(e.sid).variables.list(page_size=1000)}
            envs[e.unique_name] = {"sid": e.sid, "build_sid": e.build_sid, "variables": variables}
        services[s.unique_name] = {
            "sid": s.sid, "friendly_name": s.friendly_name, "environments": envs,
            "functions": sorted(f.friendly_name for f in api.functions.list(page_size=1000)),
            "assets": sorted(a.friendly_name for a in api.assets.list(page_size=1000)),
        }
    numbers = {n.phone_number: {k: getattr(n, k) for k in ("voice_url", "voice_method", "sms_url", "sms_method",
                                                          "voice_fallback_url", "status_callback", "friendly_name")}
               for n in client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers.list(page_size=1000)}
    return {"flows": flows, "services": services, "numbers": numbers}
