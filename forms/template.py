"""The initiative template (Decree 13/2012, Circular 18/2013 form) declared as data.

Every label, help line and example is an English msgid marked with ``N_``; callers translate them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from forms.errors import N_


class Kind(StrEnum):
    TEXT = "text"
    LONGTEXT = "longtext"
    CHOICE = "choice"
    DATE = "date"
    MONEY = "money"
    AUTHORS = "authors"
    FILES = "files"


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    translate: bool = True  # configured labels are shown as written


@dataclass(frozen=True)
class Field:
    key: str
    kind: Kind
    label: str
    help: str
    example: str = ""
    required: bool = True
    max_len: int = 300
    min_len: int = 1
    choices: tuple[Choice, ...] = ()
    short: str = ""  # the label on a button, short enough for half the width of a 360-pixel screen

    @property
    def button_label(self) -> str:
        return self.short or self.label

    @property
    def collects_parts(self) -> bool:
        """Answers that may arrive as several messages: a pasted text Telegram split, photos and documents."""
        return self.kind in (Kind.LONGTEXT, Kind.FILES)


SOLUTION_TYPES = (
    Choice("technical", N_("Technical solution")),
    Choice("management", N_("Management solution")),
    Choice("operational", N_("Operational solution")),
    Choice("technology", N_("Application of technical progress")),
    Choice("research", N_("Scientific research topic")),
)

DEFAULT_FIELDS_OF_WORK = (
    Choice("production", N_("Production and operation")),
    Choice("maintenance", N_("Engineering and maintenance")),
    Choice("safety", N_("Occupational safety and health")),
    Choice("environment", N_("Environment and energy saving")),
    Choice("management", N_("Management and administration")),
    Choice("finance", N_("Finance and accounting")),
    Choice("it", N_("Information technology and digital transformation")),
    Choice("training", N_("Training and human resources")),
    Choice("health", N_("Health care")),
    Choice("education", N_("Education")),
    Choice("customer", N_("Customer service")),
    Choice("transport", N_("Transport and logistics")),
    Choice("other", N_("Other")),
)

LONG = 30_000  # a long answer pasted in one go arrives as pieces of 4,096 characters


def build_fields(fields_of_work: Sequence[Choice] = DEFAULT_FIELDS_OF_WORK) -> tuple[Field, ...]:
    return (
        Field(
            "title",
            Kind.TEXT,
            N_("Initiative name"),
            N_("A short name that says what the initiative does."),
            N_("Automatic pressure control for the water supply network"),
            min_len=5,
            short=N_("Name"),
        ),
        Field(
            "solution_type",
            Kind.CHOICE,
            N_("Type of solution"),
            N_("Pick the kind of solution."),
            choices=SOLUTION_TYPES,
            short=N_("Type"),
        ),
        Field(
            "field",
            Kind.CHOICE,
            N_("Field of application"),
            N_("Pick the field of work it belongs to: the help and the examples of the next steps follow it."),
            choices=tuple(fields_of_work),
            short=N_("Field"),
        ),
        Field(
            "before",
            Kind.LONGTEXT,
            N_("Situation before the initiative"),
            N_("How was the work done before, and what was wrong with it?"),
            N_("The pumps ran at full power all night although little water was used; pipes often burst."),
            max_len=LONG,
            min_len=10,
            short=N_("Before"),
        ),
        Field(
            "solution",
            Kind.LONGTEXT,
            N_("Description of the solution"),
            N_("What is new, how it works, and the steps to apply it."),
            N_("A pressure sensor and a frequency inverter keep the pressure constant; the pump slows down at night."),
            max_len=LONG,
            min_len=20,
            short=N_("Solution"),
        ),
        Field(
            "applied_where",
            Kind.TEXT,
            N_("Where it is applied"),
            N_("The workshop, line, department or site where it is applied or trialled."),
            N_("Pumping station no. 2, Lang Son Water Supply Company"),
            max_len=500,
            short=N_("Where"),
        ),
        Field(
            "applied_since",
            Kind.DATE,
            N_("Date first applied"),
            N_("The day it was first applied or trialled: day/month/year, or month/year."),
            "15/03/2022",
            short=N_("Date"),
        ),
        Field(
            "benefit_money",
            Kind.MONEY,
            N_("Money benefit"),
            N_("The money it saves or earns, per year or per month. Send 0 if there is none."),
            N_("14 million/year; 350 thousand/month; 1.2 billion"),
            short=N_("Money"),
        ),
        Field(
            "benefit_social",
            Kind.LONGTEXT,
            N_("Social benefit"),
            N_(
                "Benefits that are not money: safety, working conditions, environment, time saved. "
                "Needed when there is no money benefit."
            ),
            N_("Workers no longer climb into the tank to clean it."),
            required=False,
            max_len=LONG,
            short=N_("Social benefit"),
        ),
        Field(
            "authors",
            Kind.AUTHORS,
            N_("Authors and shares"),
            N_(
                "If others worked on it with you, list everyone, you first, one a line with a share; "
                "the shares add up to 100%. Skip it if you are the only author."
            ),
            "Nguyễn Văn An – 60%\nTrần Thị Bình – 40%",
            required=False,
            max_len=3000,
            short=N_("Co-authors"),
        ),
        Field(
            "conditions",
            Kind.LONGTEXT,
            N_("Conditions needed to apply it"),
            N_("Equipment, skills or money needed to apply it elsewhere."),
            N_("A frequency inverter of 15 kW and one day of training."),
            required=False,
            max_len=LONG,
            short=N_("Conditions"),
        ),
        Field(
            "confidential",
            Kind.LONGTEXT,
            N_("Confidential information"),
            N_("Parts that must be kept confidential, if any."),
            required=False,
            max_len=LONG,
            short=N_("Confidential"),
        ),
        Field(
            "files",
            Kind.FILES,
            N_("Photos and documents"),
            N_("Send photos or documents (drawings, reports, tables). Press Done when finished."),
            required=False,
            short=N_("Files"),
        ),
    )
