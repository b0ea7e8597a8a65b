"""The questions asked of deploy journals (state.history), on records built in memory.

Rollback's undo selection, drift's attribution (active deploys, last writer of an address,
the build twideploy left deployed) and promote's "which deploy made this deployment" are
pure functions of the journal records; these tests pin them without an account.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twideploy.errors import TwideployError
from twideploy.state.history import History
from twideploy.state.journal import (
    DEPLOY,
    ROLLBACK,
    DeployRecord,
    JournalFile,
    JournalHeader,
    JournalOutcome,
    Step,
)

JOURNALS = Path("/state/journal")


def record(deploy_id: str, status: str | None = "applied", *, kind: str = DEPLOY, reverts: tuple[str, ...] = (),
           steps: list[Step] | None = None) -> DeployRecord:
    """A journal read back: `status` None is an interrupted one (no outcome line)."""
    header = JournalHeader(deploy_id, "staging", f"2026-11-29T10:00:{deploy_id[-2:]}Z", kind, "AC1",
                           reverts=reverts)
    outcome = JournalOutcome(status, f"2026-11-29T10:01:{deploy_id[-2:]}Z") if status else None
    return DeployRecord(JournalFile(JOURNALS / "staging" / f"{deploy_id}.jsonl"), header, steps or [], outcome)


def write(seq: int, address: str, op: str = "variable.update", *, result: dict | None = None,
          undo: dict | None = None) -> Step:
    return Step(seq, op, address, undo or {}, {} if result is None else result)


def deployment(seq: int, service: str, sid: str | None, previous_build: str | None = None) -> Step:
    """A `deployment.create` of `service`; `sid` None is one that may not have happened."""
    return Step(seq, "deployment.create", f"service.{service}.build", {"previous_build_sid": previous_build},
                None if sid is None else {"sid": sid})


def ids(records: list[DeployRecord]) -> list[str]:
    return [r.deploy_id for r in records]


def to_undo(history: History, to: str | None = None) -> list[str]:
    return ids(history.to_undo(to, environment="staging", where=f"journals under {JOURNALS}"))


# --------------------------------------------------------------------------- reverted, active, unfinished


def test_only_a_rollback_that_finished_reverts_its_deploys():
    history = History([record("d-01"), record("d-02"), record("r-03", kind=ROLLBACK, reverts=("d-02",)),
                       record("d-04"), record("r-05", "rollback_failed", kind=ROLLBACK, reverts=("d-04",)),
                       record("r-06", None, kind=ROLLBACK, reverts=("d-04",))])
    assert history.reverted_ids() == {"d-02"}
    assert ids(history.active()) == ["d-01", "r-03", "d-04"]


def test_unfinished_are_interrupted_or_failed_rollback_deploys_never_rollbacks():
    history = History([record("d-01"), record("d-02", None), record("d-03", "rollback_failed"),
                       record("d-04", "rolled_back"), record("d-05", "abandoned"),
                       record("r-06", None, kind=ROLLBACK, reverts=("d-01",))])
    assert ids(history.unfinished()) == ["d-02", "d-03"]


# --------------------------------------------------------------------------- undo selection


def test_rollback_undoes_the_unfinished_deploys_first_newest_first():
    history = History([record("d-01"), record("d-02", None), record("d-03"), record("d-04", "rollback_failed")])
    assert to_undo(history) == ["d-04", "d-02"]


def test_rollback_undoes_the_last_applied_deploy_not_yet_reverted():
    history = History([record("d-01"), record("d-02"), record("d-03", "rolled_back"),
                       record("r-04", kind=ROLLBACK, reverts=("d-02",))])
    assert to_undo(history) == ["d-01"]


def test_rollback_with_nothing_applied_names_where_it_looked():
    history = History([record("d-01", "rolled_back"), record("r-02", kind=ROLLBACK, reverts=("d-01",))])
    with pytest.raises(TwideployError, match=r"^no deploy of staging to roll back \(journals under /state/journal\)$"):
        history.to_undo(None, environment="staging", where=f"journals under {JOURNALS}")


def test_rollback_to_undoes_every_applied_and_unfinished_deploy_after_it():
    history = History([record("d-01"), record("d-02"), record("d-03", None), record("d-04"),
                       record("d-05", "rolled_back"), record("r-06", kind=ROLLBACK, reverts=("d-04",)),
                       record("d-07")])
    assert to_undo(history, "d-02") == ["d-07", "d-03"]
    assert to_undo(history, "d-07") == []


@pytest.mark.parametrize("target", ["d-04", "d-05", "nope"])
def test_rollback_to_refuses_a_deploy_that_is_not_applied_and_active(target):
    history = History([record("d-01"), record("d-02"), record("d-04"), record("d-05", "rolled_back"),
                       record("r-06", kind=ROLLBACK, reverts=("d-04",))])
    with pytest.raises(TwideployError, match=f"deploy {target} is not an applied, un-reverted deploy of staging"):
        history.to_undo(target, environment="staging", where=f"journals under {JOURNALS}")


# --------------------------------------------------------------------------- who wrote what


def test_last_deploy_is_the_newest_active_deploy_not_a_rollback():
    history = History([record("d-01"), record("d-02"), record("r-03", kind=ROLLBACK, reverts=("d-02",))])
    assert history.last_deploy().deploy_id == "d-01"
    assert History([record("d-01", None)]).last_deploy() is None


def test_last_write_is_the_newest_completed_write_of_an_active_deploy():
    key = "service.crm.variable.KEY"
    first = write(1, key)
    history = History([record("d-01", steps=[first, write(2, "number.+15005550006")]),
                       record("d-02", steps=[write(1, key)]),
                       record("r-03", kind=ROLLBACK, reverts=("d-02",)),
                       record("d-04", "rolled_back", steps=[write(1, key)]),
                       record("d-05", steps=[Step(1, "variable.update", key, {})])])  # not done
    assert history.last_write(key) == (history.records[0], first)
    assert history.last_write("flow.ivr-main") is None


def test_last_change_is_the_rollback_that_undid_the_last_write():
    key = "service.crm.variable.KEY"
    history = History([record("d-01", steps=[write(1, key)]), record("d-02", steps=[write(1, key)]),
                       record("r-03", kind=ROLLBACK, reverts=("d-02",)), record("d-04", steps=[write(1, "flow.x")])])
    assert history.last_change(key).deploy_id == "r-03"
    assert history.last_change("flow.x").deploy_id == "d-04"
    assert history.last_change("flow.y") is None


def test_our_deployments_are_every_completed_deployment_of_the_service_reverted_or_not():
    history = History([record("d-01", steps=[deployment(1, "crm", "ZD1"), deployment(2, "crm.v2", "ZD2")]),
                       record("d-02", "rolled_back", steps=[deployment(1, "crm", "ZD3")]),
                       record("d-03", None, steps=[deployment(1, "crm", None)])])
    assert {sid: r.deploy_id for sid, r in history.our_deployments("crm").items()} == {"ZD1": "d-01", "ZD3": "d-02"}
    assert list(history.our_deployments("crm.v2")) == ["ZD2"]


def test_expected_build_replays_deploys_and_rollbacks_in_order():
    build_of = {"ZD1": "ZB1", "ZD2": "ZB2"}
    deploys = [record("d-01", steps=[deployment(1, "crm", "ZD1")]),
               record("d-02", steps=[deployment(1, "crm", "ZD2", previous_build="ZB1")])]
    assert History(deploys).expected_build("crm", build_of) == ("ZB2", deploys[1])
    rollback = record("r-03", kind=ROLLBACK, reverts=("d-02",))
    assert History([*deploys, rollback]).expected_build("crm", build_of) == ("ZB1", rollback)
    failed = record("r-03", "rollback_failed", kind=ROLLBACK, reverts=("d-02",))
    assert History([*deploys, failed]).expected_build("crm", build_of) == ("ZB2", deploys[1])
    assert History(deploys).expected_build("crm.v2", build_of) == (None, None)
