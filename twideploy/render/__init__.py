"""Every command's result rendered for people (text, markdown) and machines (JSON). Rendering never computes.

Plans here (plan_text, plan_markdown, plan_json); drift_report, history, promote, export and
outcome (what apply, promote and rollback did) for the other commands.
"""

from twideploy.render.plan_json import render_json
from twideploy.render.plan_markdown import render_markdown
from twideploy.render.plan_text import render_text

__all__ = ["render_json", "render_markdown", "render_text"]
