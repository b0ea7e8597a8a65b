"""Offline flow tests: a Studio flow interpreter that runs scenario files (`flows/**/*.test.yaml`).

`scenario` reads and checks the scenario files; `interpreter` runs one execution of a flow as
Studio would (widgets, Liquid, split conditions, runtime limits), recording what the caller
would hear and what was sent as effects; `runner` runs scenarios, compares them with their
expectations and measures coverage; `functions` (Run Function in Node.js) and `http_mocks`
answer the outbound calls. docs/flow-tests.md describes the format and the differences from
Studio's own runtime.
"""
