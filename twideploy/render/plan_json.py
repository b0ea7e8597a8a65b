"""The versioned JSON form of a plan (documented in docs/plan-format.md)."""

from __future__ import annotations

import json

from twideploy.plan.model import Plan


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False, default=str)
