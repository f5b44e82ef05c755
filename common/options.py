"""Checks of command-line values: one line naming the option, what it allows and the value given."""

from common.errors import OptionValueError


def validate_range(flag: str, value: "int | float", low: "int | float", high: "int | float | None" = None,
                exclusive_low: bool = False) -> None:
    """Raise OptionValueError unless low <= value (< when exclusive_low) and, if given, value <= high."""
    too_low = value <= low if exclusive_low else value < low
    if too_low or (high is not None and value > high):
        bound = f"> {low:g}" if exclusive_low else (f"{low:g}..{high:g}" if high is not None else f">= {low:g}")
        raise OptionValueError(None, f"{flag} {value:g} is out of range", f"use a value {bound}")


def validate_choice(flag: str, value: str, choices: tuple) -> None:
    """Raise OptionValueError unless `value` is one of `choices`."""
    if value not in choices:
        raise OptionValueError(None, f"{flag} {value!r} is not one of {', '.join(choices)}", f"use {flag} {choices[0]}")
