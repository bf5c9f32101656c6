"""Load reports: what a loader read, kept and dropped, and why.

Every loader in :mod:`hotspots` returns its data together with a :class:`LoadReport`. The report
obeys one invariant, checked on construction: ``rows_kept + rows_dropped == rows_read``.
Dropped rows are grouped by reason (``"no location"``, ``"unparseable date"``, ...) with a few
example references so that the user can look them up: in a CSV file the line the row starts on,
as an editor numbers it (``"file.csv:line 18"``; the header is line 1), elsewhere the data row
(``"DataFrame:row 17"``, counted from 1), with what was wrong when a value could not be read
(``"file.csv:line 18 (Month '2025/13': expected YYYY-MM)"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import HotspotsError

__all__ = [
    "LoadReport", "ReportBuilder", "MAX_EXAMPLES", "NOT_PEOPLE", "add_load_report", "count_text", "dropped_text",
    "load_report_display", "with_category_drops",
]

#: How many example rows are kept per drop reason.
MAX_EXAMPLES = 5
#: Drop reasons that are not people: a blank row, an exact copy of a row kept. A referral file's
#: load report publishes their counts exactly (its rows read = kept + dropped adds up on its face).
NOT_PEOPLE = ("empty row", "duplicate row")


def _not_people(report: Any) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    dropped = {str(k): int(v) for k, v in (d.get("dropped") or {}).items()}
    return d, {k: v for k, v in dropped.items() if k not in NOT_PEOPLE}, {k: v for k, v in dropped.items() if k in NOT_PEOPLE}


def add_load_report(ledger: Any, total: Any, report: Any, n_referrals: int) -> None:
    """A referral file's load report (a :class:`LoadReport` or its dict) as counts of people in a
    :class:`hotspots.disclosure.Ledger`: rows read (less the rows that are not people, :data:`NOT_PEOPLE`),
    kept, dropped and each reason, tied by their sums (kept = ``(total, "referrals")`` when equal)."""
    d, people, _ = _not_people(report)
    kept = int(d["rows_kept"])
    ledger.add(("load", "read"), kept + sum(people.values()), cost=1)
    ledger.add(("load", "kept"), kept, cost=1)
    ledger.add(("load", "dropped"), sum(people.values()))
    for k, v in people.items():
        ledger.add(("load", "reason", k), v)
    ledger.relate(("load", "read"), [("load", "kept"), ("load", "dropped")])
    if people:
        ledger.relate(("load", "dropped"), [("load", "reason", k) for k in people])
    if kept == n_referrals:
        ledger.relate((total, "referrals"), [("load", "kept")])


def count_text(v: Any) -> str:
    """A published count as text: a number with thousands separators, or its marker."""
    return f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)


def load_report_display(prot: Any, report: Any) -> dict[str, Any]:
    """The load report as published under ``prot`` (:func:`add_load_report`): people's counts as their markers,
    the rows that are not people exactly, added to rows read and dropped ("<5 + 2" where the people's part is hidden)."""
    d, people, other = _not_people(report)
    extra = sum(other.values())

    def plus(key: Any) -> Any:
        m = prot.marker(key)
        return m + extra if isinstance(m, (int, np.integer)) else f"{m} + {extra:,}" if extra else m

    return {
        "source": d.get("source"),
        "rows_read": plus(("load", "read")),
        "rows_kept": prot.marker(("load", "kept")),
        "rows_dropped": plus(("load", "dropped")),
        "dropped": {k: (other[k] if k in other else prot.marker(("load", "reason", k))) for k in (d.get("dropped") or {})},
    }


@dataclass(frozen=True)
class LoadReport:
    """What a loader did with its input.

    Attributes
    ----------
    source : str
        What was read (file name, or a summary such as ``"12 files in data/"``).
    rows_read : int
        Data rows found in the input (header lines excluded).
    rows_kept : int
        Rows in the returned data.
    dropped : dict of str to int
        Rows not returned, by reason. Reasons are short lower-case phrases.
    examples : dict of str to list of str
        Up to :data:`MAX_EXAMPLES` row references per reason, e.g. ``"a.csv:line 8"`` (a CSV file's line,
        the header being line 1) or ``"DataFrame:row 7"`` (other formats: the data row).
    notes : list of str
        Decisions taken on the user's behalf (detected CRS, derived ids, filters applied).
    warnings : list of str
        Problems that did not drop rows but deserve attention (points outside the study area,
        possibly swapped longitude/latitude, ...).
    files : list of LoadReport
        Per-file reports when several files were read (empty for a single file).
    unrecognised : dict of str to dict of str to int
        Values of a category field that were not recognised and kept as not recorded, by field
        (``"outcome"``) then value (``"lost"``): rows, exact (counts of people for referrals: protect
        them before showing, e.g. :func:`hotspots.io.unrecognised_outcomes_text`).
    dropped_by_category : dict of str to dict of str to int
        The dropped rows by the incident category they held (police.uk's ``Crime type``), then by
        reason: ``{"Public order": {"no location": 814}}``; empty when the loader groups no rows
        (:meth:`ReportBuilder.group_by`). What :func:`hotspots.preparation.choose_category` reports
        for the categories analysed.
    """

    source: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[LoadReport] = field(default_factory=list)
    unrecognised: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped_by_category: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rows_read < 0 or self.rows_kept < 0 or any(v < 0 for v in self.dropped.values()):
            raise HotspotsError(f"LoadReport for {self.source!r} has a negative count")
        if self.rows_kept + self.rows_dropped != self.rows_read:
            raise HotspotsError(
                f"LoadReport for {self.source!r} does not add up: kept {self.rows_kept} + dropped "
                f"{self.rows_dropped} != read {self.rows_read}. This is a bug in hotspots."
            )

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped, all reasons."""
        return int(sum(self.dropped.values()))

    def to_dict(self) -> dict:
        """Plain-Python form, for JSON sidecars and the app."""
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "dropped": dict(self.dropped),
            "examples": {k: list(v) for k, v in self.examples.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "files": [f.to_dict() for f in self.files],
            # only when there are any: most reports (incidents, task sites) never have them
            **({"unrecognised": {k: dict(v) for k, v in self.unrecognised.items()}} if self.unrecognised else {}),
            **({"dropped_by_category": {k: dict(v) for k, v in self.dropped_by_category.items()}}
               if self.dropped_by_category else {}),
        }

    def summary(self) -> str:
        """One-line summary: ``read 100, kept 97, dropped 3 (no location: 3)``."""
        return (f"{self.source}: read {self.rows_read:,}, kept {self.rows_kept:,}, "
                f"{dropped_text(self.rows_dropped, self.dropped)}")

    def __str__(self) -> str:
        lines = [self.summary()]
        for reason, rows in self.examples.items():
            if rows:
                lines.append(f"  e.g. {reason}: {', '.join(rows)}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        if len(self.files) > 1:
            lines.append(f"  {len(self.files)} files:")
            lines += [f"    {f.summary()}" for f in self.files]
        return "\n".join(lines)

    @classmethod
    def combine(
        cls,
        reports: Sequence[LoadReport],
        source: str | None = None,
        *,
        extra_dropped: dict[str, int] | None = None,
        extra_examples: dict[str, list[str]] | None = None,
        notes: Iterable[str] = (),
        warnings: Iterable[str] = (),
        rows_kept: int | None = None,
    ) -> LoadReport:
        """Merge per-file reports into one, keeping them under :attr:`files`.

        ``extra_dropped`` records drops made after the files were combined (e.g. duplicate ids
        across files); ``rows_kept`` must then be given and the invariant still holds.
        """
        dropped: dict[str, int] = {}
        examples: dict[str, list[str]] = {}
        unrecognised: dict[str, dict[str, int]] = {}
        by_category: dict[str, dict[str, int]] = {}
        for r in reports:
            for cat, reasons in r.dropped_by_category.items():
                into = by_category.setdefault(cat, {})
                for reason, n in reasons.items():
                    into[reason] = into.get(reason, 0) + int(n)
            for key, counts in r.unrecognised.items():
                into = unrecognised.setdefault(key, {})
                for value, n in counts.items():
                    into[value] = into.get(value, 0) + int(n)
            for k, v in r.dropped.items():
                dropped[k] = dropped.get(k, 0) + v
            for k, v in r.examples.items():
                examples.setdefault(k, [])
                examples[k] = (examples[k] + list(v))[:MAX_EXAMPLES]
        for k, v in (extra_dropped or {}).items():
            if v:
                dropped[k] = dropped.get(k, 0) + v
        for k, v in (extra_examples or {}).items():
            examples[k] = (examples.get(k, []) + list(v))[:MAX_EXAMPLES]
        read = sum(r.rows_read for r in reports)
        kept = sum(r.rows_kept for r in reports) if rows_kept is None else rows_kept
        all_notes: list[str] = []
        all_warnings: list[str] = []
        for r in reports:
            all_notes += [n for n in r.notes if n not in all_notes]
            all_warnings += [w for w in r.warnings if w not in all_warnings]
        all_notes += list(notes)
        all_warnings += list(warnings)
        if source is None:
            source = reports[0].source if len(reports) == 1 else f"{len(reports)} files"
        return cls(
            source=source,
            rows_read=read,
            rows_kept=kept,
            dropped=dropped,
            examples=examples,
            notes=all_notes,
            warnings=all_warnings,
            files=list(reports) if len(reports) > 1 else [],
            unrecognised=unrecognised,
            dropped_by_category=by_category,
        )


def dropped_text(total: Any, dropped: Mapping[str, Any]) -> str:
    """``"dropped 14 (no location: 10; duplicate row: 3; empty row: 1)"``: rows dropped and why, the
    command line's and the app's one wording. Counts may be numbers (largest first) or the markers a
    protected report shows instead (``"<5"``, ``"c"``: kept in their order, after the numbers)."""
    def fig(v: Any) -> str:
        return f"{int(v):,}" if isinstance(v, (int, np.integer)) else str(v)

    order = sorted(dropped.items(), key=lambda kv: -int(kv[1]) if isinstance(kv[1], (int, np.integer)) else 1)
    text = f"dropped {fig(total)}"
    if order:
        text += f" ({'; '.join(f'{k}: {fig(v)}' for k, v in order)})"
    return text


def with_category_drops(
    report: LoadReport, categories: Sequence[object], drops: Iterable[tuple[str, np.ndarray]]
) -> LoadReport:
    """``report`` with rows dropped after its files were combined (``drops``: reason and mask over
    ``categories``, one category per combined row, e.g. ``duplicate id`` across files or a copy of a
    month) counted in :attr:`LoadReport.dropped_by_category` too, so that a category's rows read
    still add up to its rows kept and dropped."""
    cats = np.asarray(categories, dtype=object).astype(str)
    by_category = {k: dict(v) for k, v in report.dropped_by_category.items()}
    for reason, mask in drops:
        names, counts = np.unique(cats[np.asarray(mask, dtype=bool)], return_counts=True)
        for cat, n in zip(names.tolist(), counts.tolist()):
            into = by_category.setdefault(str(cat), {})
            into[reason] = into.get(reason, 0) + int(n)
    return dataclasses.replace(report, dropped_by_category=by_category)


class ReportBuilder:
    """Accumulates drops while a loader filters a table, then builds the :class:`LoadReport`.

    Loaders work on a table whose rows are still all there; each check produces a boolean mask
    of rows to drop. :meth:`drop` counts only rows not already dropped by an earlier check, so
    each row is dropped for exactly one reason (the first that applies) and the counts add up.

    Parameters
    ----------
    source : str
        Name used in the report and in row references.
    n_rows : int
        Rows read.
    row_numbers : array-like of int, optional
        The number to show for each row; defaults to ``1..n_rows``.
    unit : str
        What the numbers count: ``"row"`` (1-based data rows) or ``"line"`` (a CSV file's lines,
        the header being line 1).
    """

    def __init__(
        self, source: str, n_rows: int, row_numbers: Sequence[int] | np.ndarray | None = None, unit: str = "row"
    ):
        self.source = source
        self.unit = unit
        self.n_rows = int(n_rows)
        self.alive = np.ones(self.n_rows, dtype=bool)
        self.row_numbers = (
            np.arange(1, self.n_rows + 1) if row_numbers is None else np.asarray(row_numbers)
        )
        self.dropped: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = []
        # Rows dropped before they became table rows (e.g. unparseable lines), counted in n_rows.
        self._pre_dropped = 0
        #: {field: mask of rows whose value was not recognised} (:meth:`unrecognised`).
        self._unrecognised: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        #: Each row's drop reason (index into ``_reasons`` + 1; 0 = kept) and its category (:meth:`group_by`).
        self._why = np.zeros(self.n_rows, dtype=np.int16)
        self._reasons: list[str] = []
        self._groups: np.ndarray | None = None

    def drop(
        self, mask: np.ndarray | Sequence[bool], reason: str, detail: Callable[[np.ndarray], Sequence[str]] | None = None
    ) -> np.ndarray:
        """Drop the rows where ``mask`` is true (and not already dropped); return the new drops.

        ``detail(indices)`` gives, for the example rows' positions, what was wrong with each
        (e.g. ``"Month '2025/13': expected YYYY-MM"``), shown after its reference.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.alive.shape:
            raise HotspotsError(f"internal: mask of shape {mask.shape} for {self.n_rows} rows")
        new = mask & self.alive
        n = int(new.sum())
        if n:
            self.alive &= ~new
            self.dropped[reason] = self.dropped.get(reason, 0) + n
            if reason not in self._reasons:
                self._reasons.append(reason)
            self._why[new] = self._reasons.index(reason) + 1
            have = self.examples.setdefault(reason, [])
            room = MAX_EXAMPLES - len(have)
            if room > 0:
                idx = np.flatnonzero(new)[:room]
                refs = [f"{self.source}:{self.unit} {int(r)}" for r in self.row_numbers[idx]]
                if detail is not None:
                    refs = [f"{ref} ({d})" for ref, d in zip(refs, detail(idx))]
                have += refs
        return new

    def drop_unparsed(self, count: int, reason: str, examples: Sequence[str] = ()) -> None:
        """Record rows that never became table rows (e.g. malformed CSV lines)."""
        if count <= 0:
            return
        self.dropped[reason] = self.dropped.get(reason, 0) + int(count)
        have = self.examples.setdefault(reason, [])
        have += list(examples)[: max(0, MAX_EXAMPLES - len(have))]
        self._pre_dropped += int(count)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def child(self, rows: np.ndarray) -> ReportBuilder:
        """A builder over the same rows with only ``rows`` (boolean mask) alive, for a step run on
        part of the table (e.g. the rows located from one coordinate pair); :meth:`drop_reasons`
        then tells why each of its rows was dropped."""
        c = ReportBuilder(self.source, self.n_rows, self.row_numbers, self.unit)
        c.alive = np.asarray(rows, dtype=bool) & self.alive
        return c

    def drop_reasons(self) -> np.ndarray:
        """Each row's drop reason (object array; ``""`` for rows kept or never alive here)."""
        labels = np.array([""] + self._reasons, dtype=object)
        return labels[self._why]

    def unrecognised(self, key: str, values: Sequence[object], mask: np.ndarray) -> None:
        """Record that ``values`` (one per row) were not recognised where ``mask`` is true for field
        ``key``; the report counts them over the rows finally kept (:attr:`LoadReport.unrecognised`)."""
        self._unrecognised[key] = (np.asarray(values, dtype=object), np.asarray(mask, dtype=bool))

    def group_by(self, categories: Sequence[object]) -> None:
        """Count the dropped rows by ``categories`` (one per row, e.g. each incident's crime type) too:
        :attr:`LoadReport.dropped_by_category`."""
        values = np.asarray(categories, dtype=object)
        if values.shape != self.alive.shape:
            raise HotspotsError(f"internal: {values.shape} categories for {self.n_rows} rows")
        self._groups = values

    def _by_category(self) -> dict[str, dict[str, int]]:
        if self._groups is None or not self._why.any():
            return {}
        out: dict[str, dict[str, int]] = {}
        gone = np.flatnonzero(self._why)
        for cat, code in zip(self._groups[gone].astype(str), self._why[gone]):
            into = out.setdefault(str(cat), {})
            reason = self._reasons[int(code) - 1]
            into[reason] = into.get(reason, 0) + 1
        return out

    @property
    def kept(self) -> int:
        return int(self.alive.sum())

    def build(self) -> LoadReport:
        return LoadReport(
            source=self.source,
            rows_read=self.n_rows + self._pre_dropped,
            rows_kept=self.kept,
            dropped=dict(self.dropped),
            examples={k: v for k, v in self.examples.items() if v},
            notes=list(self.notes),
            warnings=list(self.warnings),
            unrecognised=self._unrecognised_counts(),
            dropped_by_category=self._by_category(),
        )

    def _unrecognised_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, (values, mask) in self._unrecognised.items():
            hit = mask & self.alive
            if hit.any():
                vals, counts = np.unique(np.asarray([str(v) for v in values[hit]], dtype=object), return_counts=True)
                order = np.argsort(-counts, kind="stable")
                out[key] = {str(vals[i]): int(counts[i]) for i in order}
        return out
