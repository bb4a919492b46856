"""What a view reads of the store besides the timing rows and the uploads: the workflows and what
their classifications say (as keys of the periods' parts), the company's settings, the active
policy's hash and the incidents.

Most writes change none of it: an upload appends rows and a batch, and its classification changes
are audited as ``classification.changed`` (``aiops.governance.reclassify``). So the facts are
carried with the rows' figures from one audit row to the next over such writes
(``aiops.views.rows_state``), and read again after any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from aiops.governance import NEXT_CHECKPOINT
from aiops.store import Reader
from aiops.views.company import CompanySettings, load_company

# The workflows as stored, and what the frame reads of their classifications.
_KEYS = f"""
SELECT
    (SELECT count(*) || ':' || coalesce(CAST(sum(hash(w)) AS VARCHAR), '') FROM workflows w),
    (SELECT count(*) || ':' || coalesce(CAST(sum(hash(workflow_id, risk, status, stop_conditions,
                                                      {NEXT_CHECKPOINT})) AS VARCHAR), '')
     FROM classifications c)
"""
_POLICY_SHA = "SELECT sha256 FROM policy_versions WHERE version = ?"
_INCIDENTS = """
SELECT e.workflow_id, w.name, w.department, e.recorded_at, e.note
FROM checkpoint_events e JOIN workflows w USING (workflow_id)
WHERE e.kind = 'incident' ORDER BY e.recorded_at DESC
"""


@dataclass(frozen=True)
class Facts:
    """The store's facts a view reads, at one moment. Treat ``incidents`` as read-only."""

    workflows: str  # the workflows as stored (count and hash sum)
    labels: str  # what the frame reads of their classifications (count and hash sum)
    company: CompanySettings
    policy_version: str  # the store's policy when read (re-applying one changes it with no write)
    policy_sha256: str | None  # of that version, as applied
    incidents: pd.DataFrame


def current_facts(db: Reader, carried: Facts | None, policy_version: str) -> Facts:
    """``carried`` (``aiops.views.rows_state``) while it was read under ``policy_version``, else
    the facts read from ``db``."""
    if carried is not None and carried.policy_version == policy_version:
        return carried
    workflows, labels = db.query_one(_KEYS) or ("", "")
    sha = db.query_one(_POLICY_SHA, [policy_version])
    company, incidents = load_company(db), db.query_df(_INCIDENTS)
    return Facts(workflows, labels, company, policy_version, sha[0] if sha else None, incidents)
