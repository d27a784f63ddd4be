"""What the rest of the program may ask of a store, whichever engine keeps it.

Small Protocols by what is kept; an engine (monitor.store.sqlite.Store,
monitor.store.postgres.PostgresStore) satisfies all of them, and a function should name the
smallest one it needs (`def explain(store: FacilityStore & ...)` reads better than "the store").

The transaction contract (`Transactions`), the same on both engines:

- `write()`: one write transaction; nested calls join the outer one. Writers queue (SQLite:
  BEGIN IMMEDIATE and the busy timeout; PostgreSQL: a transaction-scoped advisory lock taken
  first), so a read-then-write inside it never loses a concurrent update and never fails with
  a lock error while the other writer finishes.
- `snapshot()`: a read transaction, every read inside seeing one committed state; it yields
  that state's change token.
- `change_token()`: an opaque, comparable value that differs once anything has been committed
  since it was read. The evaluation reads its inputs in a snapshot, evaluates without the write
  lock, then compares the token inside `write()` and evaluates again if it moved (optimistic
  retry). Both engines keep a counter `meta.change_count` bumped by every `write()`: one small
  row update per transaction, visible to every connection and engine-neutral (`PRAGMA
  data_version` is per connection and SQLite-only; a max(id) tuple misses updates in place).
  SQLite adds its data_version to the token, which also sees commits that bypass `write()`.
- `leave_uncounted()`: inside `write()`, says this transaction changed only bookkeeping that
  nothing derived reads (the fetch_log row of a fetch that stored nothing new, the map's record
  of what it drew): the change count is not bumped, so a refresh with nothing new does not make
  the next evaluation redo its work (monitor.evaluation's inputs key).

Times are UTC ISO strings; ids are integers the store assigns. Records are in `records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Hashable, Protocol, runtime_checkable

from .records import FetchRecord, HistoryEntry, Township


@runtime_checkable
class Transactions(Protocol):
    readonly: bool

    def write(self) -> AbstractContextManager[Any]: ...
    def snapshot(self) -> AbstractContextManager[Hashable]: ...
    def change_token(self) -> Hashable: ...
    def leave_uncounted(self) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class MetaStore(Protocol):
    """Facts about the database itself (`created_by`, `evaluated_at`, a viewer's seen mark)."""

    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


@runtime_checkable
class TownshipStore(Protocol):
    def township_records(self, *, with_geometry: bool = True) -> list[Township]: ...
    def replace_townships(self, rows: Iterable[dict]) -> int: ...
    def township_lookup(self, text: str) -> dict: ...


@runtime_checkable
class FacilityStore(Protocol):
    """Facilities and their append-only history (rows are appended, never changed)."""

    def insert_facilities(self, rows: Sequence[dict], *, at: str, by: str, note: str) -> list[int]: ...
    def facility(self, facility_id: int) -> dict | None: ...
    def update_facilities(self, changes: Iterable[tuple[int, dict]]) -> None: ...
    def set_facility_state(self, facility_id: int, *, status: str, updated: str,
                           last_inspected: str | None, due: str | None, severity: Any = ...) -> None: ...
    def select_facilities(self, **filters: Any) -> list[dict]: ...
    def facility_column_arrays(self, numeric: dict[str, str], coded: Sequence[tuple[str, ...]], *,
                               kind_statuses: Iterable[tuple[str, str]] | None = None, chunk: int = 50_000): ...
    def append_history(self, facility_id: int, *, at: str, by: str, old_status: str | None, new_status: str,
                       note: str | None, inspected: str | None, due: str | None, undoes: int | None = None,
                       old_severity: str | None = None, new_severity: str | None = None) -> int: ...
    def history_entries(self, facility_id: int, limit: int | None = None) -> list[HistoryEntry]: ...


@runtime_checkable
class AlertStore(Protocol):
    def insert_alert(self, row: dict) -> int | None: ...
    def find_alert(self, sender: str, identifier: str, sent: str | None = None) -> list[dict]: ...
    def supersede_alert(self, alert_id: int, by_id: int, state: str) -> bool: ...
    def withdraw_alert(self, alert_id: int, *, at: str, by: str, note: str) -> bool: ...
    def alerts_in_force(self, at: str) -> list[dict]: ...


@runtime_checkable
class FollowUpStore(Protocol):
    def sync_follow_up_rows(self, current: Iterable[tuple], *, at: str,
                            facility_id: int | None = None) -> dict[str, int]: ...
    def follow_up_list(self, *, decode_causes: bool = True, limit: int | None = None, **filters: Any) -> list[dict]: ...
    def follow_up_json(self, *, at: str | None = None, new_after: str | None = None, limit: int | None = None,
                       **filters: Any) -> Iterator[list[str]]: ...
    def last_evaluation(self) -> str | None: ...


@runtime_checkable
class FetchLog(Protocol):
    def log_fetch(self, row: dict) -> int: ...
    def fetch_record(self, source: str, *, ok: bool | None = None) -> FetchRecord | None: ...


class Store(Transactions, MetaStore, TownshipStore, FacilityStore, AlertStore, FollowUpStore, FetchLog, Protocol):
    """Everything a command may need: what both engines provide."""
