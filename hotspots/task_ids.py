"""Task ids that differ only in case or surrounding spaces (``T03`` and ``t03``): one rule for the
task-site loader and the referral → task linkage.

Ids are matched exactly (after trimming spaces): ``T03`` and ``t03`` are different sites. A task
file holding both, or a referral naming an id that matches a site only when case is ignored, is
most likely a typing slip, so both are warned about, naming the ids (task ids are not personal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["case_variants", "case_variants_warning", "case_only_matches_note"]


def _key(v: object) -> str:
    return str(v).strip().casefold()


def case_variants(ids: Iterable[object]) -> list[list[str]]:
    """Groups of distinct ids (trimmed) that are equal when case is ignored, each sorted; groups sorted.

    Examples
    --------
    >>> case_variants(["T03", "t03", "T01", " T03 "])
    [['T03', 't03']]
    """
    groups: dict[str, set[str]] = {}
    for v in ids:
        if v is None or (isinstance(v, float) and v != v):
            continue
        groups.setdefault(_key(v), set()).add(str(v).strip())
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def case_variants_warning(ids: Iterable[object], source: str = "the task sites") -> str | None:
    """The warning for task ids of ``source`` that differ only in case (None when there are none)."""
    groups = case_variants(ids)
    if not groups:
        return None
    shown = "; ".join(" and ".join(f"'{i}'" for i in g) for g in groups[:10])
    return (f"{source}: {len(groups)} task id(s) differ from another only in case ({shown}): they are read as different "
            "sites, and a referral is linked only to the one it names exactly. If they are one site, give it one id")


def case_only_matches_note(referral_ids: Iterable[object], site_ids: Mapping[str, object] | Iterable[str]) -> str | None:
    """A note counting referrals whose ``task_id`` names no site exactly but one when case is ignored
    (``referral_ids`` trimmed, None for none; ``site_ids`` the task table's ids), naming the ids."""
    sites = set(site_ids)
    folded: dict[str, list[str]] = {}
    for s in sites:
        folded.setdefault(_key(s), []).append(s)
    n, named = 0, set()
    for r in referral_ids:
        if r is None or r in sites or _key(r) not in folded:
            continue
        n += 1
        named.add(f"'{r}' (site {' or '.join(repr(s) for s in sorted(folded[_key(r)]))})")
    if not n:
        return None
    return (f"{n} referral(s) name a task_id that matches a task site only when case is ignored ({', '.join(sorted(named)[:10])})"
            ": they are not linked ('task not found'); write the id as the task file does")
