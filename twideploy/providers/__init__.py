"""One provider per resource kind; `registry.PROVIDERS` lists them in dependency order.

The planner, the executor and rollback are loops over that list (see docs/architecture.md).
"""
