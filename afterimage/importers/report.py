"""What an import did, row by row, for the studio page and the CLI summary."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class RowNote:
    """A row of the file and what happened to it (skipped, or imported with a warning)."""

    row: str
    message: str


@dataclass
class FieldNote:
    """A field of an existing item that the import overwrote or left alone."""

    item: str
    field: str
    reason: str = "you edited it here since the last import"


@dataclass
class ImportReport:
    """Counts and details of one import; nothing in it is written until the whole file succeeded."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lists_created: int = 0
    lists_updated: int = 0
    tags_created: int = 0
    diary_added: int = 0
    skipped: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    overwritten: list[FieldNote] = field(default_factory=list)
    left_alone: list[FieldNote] = field(default_factory=list)

    def skip(self, row: str, message: str) -> None:
        """Record a row that was not imported and why."""
        self.skipped.append(RowNote(row, message))

    def warn(self, row: str, message: str) -> None:
        """Record a row that was imported with something dropped or guessed."""
        self.warnings.append(RowNote(row, message))

    def to_dict(self) -> dict:
        """The report as plain data, for the studio's import job to hand to its progress page."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        """A report kept by to_dict."""
        notes = {"skipped": RowNote, "warnings": RowNote, "overwritten": FieldNote, "left_alone": FieldNote}
        return cls(**{**data, **{name: [kind(**n) for n in data.get(name, [])] for name, kind in notes.items()}})

    def headline(self) -> str:
        """What the import did, in one sentence."""
        return (f"Imported {self.source}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.skipped)} skipped.")

    def summary_lines(self) -> list[str]:
        """A short plain-text summary, as the CLI prints it."""
        lines = [
            f"{self.source}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped."
        ]
        if self.lists_created or self.lists_updated:
            lines.append(f"Lists: {self.lists_created} created, {self.lists_updated} updated.")
        if self.tags_created:
            lines.append(f"Tags: {self.tags_created} new.")
        if self.diary_added:
            lines.append(f"Diary: {self.diary_added} date{'s' if self.diary_added != 1 else ''} added.")
        for note in self.skipped:
            lines.append(f"Skipped {note.row}: {note.message}")
        for note in self.warnings:
            lines.append(f"Warning {note.row}: {note.message}")
        for note in self.overwritten:
            lines.append(f"Overwrote {note.field} of {note.item} with the newer file's value.")
        for note in self.left_alone:
            lines.append(f"Left {note.field} of {note.item} alone: {note.reason}.")
        return lines
