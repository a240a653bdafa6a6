"""The review service, by concern (plain functions over an open session; the routes own the transaction).

* :mod:`jimu.review.common` — errors, form lookups, stages, locks, audit of views;
* :mod:`jimu.review.worklist` — the work list, the next document, the supervisor's queue;
* :mod:`jimu.review.review_page` — the review page, saving, approve, skip, reject;
* :mod:`jimu.review.double_entry` — the blind second entry and the supervisor's decision;
* :mod:`jimu.review.stats` — backlog age, operators' figures, the audit log.

This module only gathers their names for the routes.
"""

from __future__ import annotations

from jimu.review.common import (  # noqa: F401
    _LEAVES,
    DOC_ID_RE,
    JST,
    MASK,
    REJECT_REASONS,
    STAGE_TEXT,
    SUPERVISOR_REASON,
    Forbidden,
    Locked,
    NotFound,
    ReviewProblem,
    Stage,
    audit_page_view,
    audit_restricted_view,
    document_stage,
    first_operators,
    form_or_none,
    form_title,
    jst,
    leaves_of,
    load_document,
    load_review_document,
    pending_restricted,
    release_lock,
    stage_of,
    take_lock,
)
from jimu.review.double_entry import (  # noqa: F401
    EntryView,
    SecondResult,
    blind_view,
    second_entry,
    supervisor_decide,
    supervisor_view,
)
from jimu.review.review_page import (  # noqa: F401
    UNCONFIRMED,
    ApproveResult,
    Block,
    FieldView,
    ReviewView,
    SaveResult,
    _confidence,
    _field_by_pk,
    _rule_names,
    approve,
    build_review_view,
    check_one,
    correction_reason,
    decide_pks,
    decide_set,
    deliver,
    display_value_of,
    field_view,
    parse_posted,
    reject,
    save_field,
    skip,
    unconfirmed,
)
from jimu.review.stats import (  # noqa: F401
    _FINISH,
    BACKLOG_BUCKETS,
    STAT_ACTIONS,
    AuditRow,
    Backlog,
    OperatorStats,
    audit_rows,
    backlog,
    operator_stats,
)
from jimu.review.worklist import (  # noqa: F401
    Filters,
    WorkList,
    WorkRow,
    following,
    may_open,
    next_document,
    supervisor_queue,
    work_list,
)
