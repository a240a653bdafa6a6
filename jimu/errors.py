"""Every error Jimu raises on purpose, with an exit code and a message that says how to fix it.

The CLI maps :class:`JimuError` subclasses to their ``exit_code``; anything else is a bug (exit 1).
Messages never contain personal data (names, addresses, マイナンバー, bank details).
"""

from __future__ import annotations


class JimuError(Exception):
    """Base class. ``message`` is for a clerk or an operator; ``hint`` says how to fix it."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return f"{self.message}" + (f" — {self.hint}" if self.hint else "")


class BadArgsError(JimuError):
    exit_code = 2
    default_hint = "Run the command with --help to see what it expects."


class FormSchemaError(JimuError):
    """A form definition YAML is invalid."""

    exit_code = 3
    default_hint = "Fix the form definition in jimu/forms_schema/ and run `jimu forms list` again."


class MissingDependencyError(JimuError):
    """An external program or data file is missing."""

    exit_code = 4
    default_hint = "Run `make setup` (or see README.md, 'Quick start') to install it."


class ExternalToolError(JimuError):
    """An external program failed or timed out."""

    exit_code = 5


class InputFileError(JimuError):
    """A scan cannot be read; the document is quarantined with this reason."""

    exit_code = 6
    reason_code = "unreadable"
    default_hint = "Rescan the paper form and drop the new file in the inbox."


class EmptyFileError(InputFileError):
    reason_code = "empty_file"


class CorruptFileError(InputFileError):
    reason_code = "corrupt_file"


class UnsupportedFileError(InputFileError):
    reason_code = "unsupported_type"
    default_hint = "Scan to PDF, TIFF, PNG or JPEG."


class EncryptedFileError(InputFileError):
    reason_code = "encrypted_pdf"
    default_hint = "Save the PDF again without a password, or rescan the paper form."


class LimitExceededError(InputFileError):
    reason_code = "over_limit"
    default_hint = "Split the scan into smaller files, or raise the limit in the JIMU_MAX_* settings."


class UnknownFormError(InputFileError):
    reason_code = "unknown_form"
    default_hint = "This page is not one of Jimu's forms; hand it to the ward office."


class AlignmentError(InputFileError):
    """The page looks like one of Jimu's forms, but it could not be aligned onto that form.

    Crumpled, folded or curled paper, or a photo taken too steeply: the form is recognisable,
    but its fields cannot be located reliably.  The message names the form (never any value).
    """

    reason_code = "not_aligned"
    default_hint = (
        "Rescan the paper flat on the scanner glass (or photograph it flat, from straight above) "
        "and drop the new file in the inbox. / 用紙を平らにして再スキャンしてください。"
    )

    @classmethod
    def looks_like(cls, title: str, score: float | None = None) -> AlignmentError:
        match = f" (match {score:.2f} with a tolerance of a few mm)" if score is not None else ""
        return cls(
            f"This page looks like {title}{match}, but the page could not be aligned: rescan flat. "
            f"/ {title}のようですが、用紙の位置を合わせられませんでした。平らにして再スキャンしてください。"
        )


class BlankPageError(InputFileError):
    reason_code = "blank_page"
    default_hint = "The page is blank; check the scanner feed."


class StoreError(JimuError):
    exit_code = 7
    default_hint = "Check JIMU_DATABASE_URL and that the database is reachable."


class DiskFullError(StoreError):
    """The disk holding the data folder (or the database) is full: the batch stops, nothing is lost."""

    exit_code = 10
    default_hint = (
        "Free space on the disk holding the data folder (JIMU_DATA_DIR) and run the batch again: "
        "files not yet read stay in the inbox and are taken on the next run. / "
        "ディスクの空きを作ってから、もう一度実行してください。"
    )


def is_disk_full(e: BaseException) -> bool:
    """An OSError ENOSPC/EDQUOT, or a database saying its disk is full."""
    import errno

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(e).lower()
    return "disk is full" in text or "no space left" in text or "could not extend file" in text


class QueueError(JimuError):
    exit_code = 8
    default_hint = "Check JIMU_QUEUE_URL and that the broker is reachable; records wait in the outbox."


class OcrTimeoutError(ExternalToolError):
    """An OCR call ran past its deadline (``JIMU_TESSERACT_TIMEOUT_S``)."""

    default_hint = (
        "The image is probably far larger than a form field (check the zone), "
        "or raise JIMU_TESSERACT_TIMEOUT_S."
    )


class StateTransitionError(StoreError):
    """A document was asked to move to a state it cannot reach from where it is (a pipeline bug)."""

    default_hint = "This is a bug in the caller; see the document state machine in jimu/store/repo.py."


class AppendOnlyError(StoreError):
    """Someone tried to change or delete an audit log entry."""

    default_hint = "The audit log is append-only: record a new entry that corrects the old one."


class QueueUnavailableError(QueueError):
    """The broker cannot be reached (connection refused, timeout, wrong credentials)."""


class QueueNotConfirmedError(QueueError):
    """The broker refused a message (nack, unroutable) instead of confirming it."""

    default_hint = (
        "Check that the queue exists with the expected arguments (durable, x-dead-letter-exchange); "
        "the record stays in the outbox and the relay retries it."
    )


class InvalidMessageError(QueueError):
    """A record message does not match jimu/schemas/record-message.schema.json (a bug, never the operator's)."""

    default_hint = "This is a bug in the record builder; the document stays in its state and nothing is published."


class UserAdminError(JimuError):
    """A review-UI account cannot be created or changed as asked (``jimu users``)."""

    exit_code = 9
    default_hint = "Run `jimu users list` to see the accounts; roles are operator, supervisor and admin."


class ExportError(JimuError):
    """The CSV hand-off could not be written (``jimu export``, the batch flow's export)."""

    exit_code = 11
    default_hint = ("Check that the export folder (--out, JIMU_CSV_EXPORT_DIR or {data_dir}/exports) exists and "
                    "Jimu may write to it, then run `jimu export --batch ID` again: the files are rewritten whole.")


# A clerk reads why a document was set aside in Japanese; the English stays in the logs.
QUARANTINE_REASONS_JA: dict[str, str] = {
    "unreadable": "ファイルを読み取れません。再スキャンしてください。",
    "empty_file": "ファイルが空です（0バイト）。再スキャンしてください。",
    "corrupt_file": "ファイルが壊れています（途中で切れている等）。再スキャンしてください。",
    "unsupported_type": "対応していない形式です。PDF・TIFF・PNG・JPEG で保存してください。",
    "encrypted_pdf": "パスワード付きのPDFです。パスワードを外すか、紙を再スキャンしてください。",
    "over_limit": "ファイルが大きすぎるか、ページが多すぎます。分けて保存してください。",
    "unknown_form": "Jimu の様式ではありません。区役所に回付してください。",
    "not_aligned": "様式の位置を合わせられませんでした。用紙を平らにして再スキャンしてください。",
    "blank_page": "白紙のページです。読み取り装置の給紙を確認してください。",
    "internal_error": "内部エラーのため読み取れませんでした。システム担当に連絡してください（再処理できます）。",
}


def quarantine_message(code: str, english: str) -> str:
    """The message stored with a quarantined document: Japanese for the clerk, then the English detail."""
    ja = QUARANTINE_REASONS_JA.get(code, QUARANTINE_REASONS_JA["unreadable"])
    return f"{ja} / {english}" if english and english != code else ja
