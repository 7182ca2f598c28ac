"""What changed between two views of the catalog, field by field (`qrcheck catalog diff`)."""

from __future__ import annotations

from dataclasses import dataclass

from qrcheck.catalog.model import CatalogView, Change, Procedure
from qrcheck.payload import (
    VERSION_FIELDS,
)


@dataclass(frozen=True)
class FieldChange:
    code: str
    fields: tuple[str, ...]
    #: True when a field printed on the posting (or its version) changed: it must be reprinted
    reprint: bool


@dataclass(frozen=True)
class CatalogDiff:
    """What differs between two catalogs, each taken as of the same date."""

    added: tuple[Procedure, ...]
    removed: tuple[Procedure, ...]
    changed: tuple[FieldChange, ...]
    replaced: tuple[Procedure, ...]
    abolished: tuple[Procedure, ...]
    scheduled: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not any(
            (self.added, self.removed, self.changed, self.replaced, self.abolished, self.scheduled)
        )

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "replaced": len(self.replaced),
            "abolished": len(self.abolished),
            "scheduled": len(self.scheduled),
        }


def diff_views(old: CatalogView, new: CatalogView) -> CatalogDiff:
    """Compare two resolved catalogs procedure by procedure."""
    added, removed, replaced, abolished = [], [], [], []
    changed: list[FieldChange] = []
    for code, proc in new.procedures.items():
        before = old.procedures.get(code)
        if before is None:
            (
                added
                if proc.in_force
                else {"replaced": replaced, "abolished": abolished}[proc.state]
            ).append(proc)
            continue
        if proc.state == "replaced" and (
            before.state != "replaced" or before.replaced_by != proc.replaced_by
        ):
            replaced.append(proc)
        elif proc.state == "abolished" and before.state != "abolished":
            abolished.append(proc)
        names = sorted(set(before.values) | set(proc.values))
        fields = tuple(n for n in names if before.values.get(n, "") != proc.values.get(n, ""))
        if fields and proc.in_force:
            reprint = any(f in VERSION_FIELDS for f in fields) or before.link != proc.link
            changed.append(FieldChange(code, fields, reprint))
    for code, proc in old.procedures.items():
        if code not in new.procedures:
            removed.append(proc)
    known = {(c.when, c.code, c.kind, c.successor) for c in old.upcoming}
    scheduled = [c for c in new.upcoming if (c.when, c.code, c.kind, c.successor) not in known]
    return CatalogDiff(
        tuple(added),
        tuple(removed),
        tuple(changed),
        tuple(replaced),
        tuple(abolished),
        tuple(scheduled),
    )
