"""What twideploy keeps between runs: in a project's `.twideploy/` folder, or for `state: account`
environments the journals, lock and content hashes in the account's Twilio Sync.

store (the StateStore interface every reader and writer uses; local_store and account_store
implement it), paths (every state path, built once), journal (one deploy's record of writes), history (the
questions asked of an environment's journals), commits (the Studio commit message twideploy
writes, and its parser), cache (content hashes of immutable things), lock (one writer per
environment), plan_key (the local key of the plan fingerprints' HMACs).
"""
