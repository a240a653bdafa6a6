"""Name → implementation tables used by form definitions (field validators, rule kinds, vocabularies).

``jimu.forms_schema.loader`` checks every name a form YAML uses against these three tables.
"""

from __future__ import annotations

from collections.abc import Callable

from jimu.validators import field_checks
from jimu.validators.rules import RULE_KINDS, RuleKind
from jimu.validators.snap import VOCABULARIES

FieldValidator = Callable[[object], str | None]

FIELD_VALIDATORS: dict[str, FieldValidator] = {
    "mynumber": field_checks.mynumber,
    "insurer_number": field_checks.insurer_number,
    "postal_code": field_checks.postal_code,
    "chiba_address": field_checks.chiba_address,
    "japan_address": field_checks.japan_address,
    "phone": field_checks.phone,
    "katakana": field_checks.katakana,
    "account_name": field_checks.account_name,
    "bank_code": field_checks.bank_code,
    "digits": field_checks.digits,
    "not_future": field_checks.not_future,
    "past": field_checks.past,
    "count": field_checks.count,
}

__all__ = ["FIELD_VALIDATORS", "RULE_KINDS", "VOCABULARIES", "FieldValidator", "RuleKind"]
