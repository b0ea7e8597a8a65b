"""What twideploy keeps on disk between runs, in a project's `.twideploy/` folder.

paths (every state path, built once), journal (one deploy's record of writes), history (the
questions asked of an environment's journals), commits (the Studio commit message twideploy
writes, and its parser), cache (content hashes of immutable things), lock (one writer per
environment), plan_key (the local key of the plan fingerprints' HMACs).
"""
