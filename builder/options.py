"""Range checks for numeric command-line options: one line naming the option, its bounds and the value given."""

from builder.errors import OptionValueError


def validate_range(flag: str, value: "int | float", low: "int | float", high: "int | float | None" = None,
                exclusive_low: bool = False) -> None:
    """Raise OptionValueError unless low <= value (< when exclusive_low) and, if given, value <= high."""
    too_low = value <= low if exclusive_low else value < low
    if too_low or (high is not None and value > high):
        bound = f"> {low:g}" if exclusive_low else (f"{low:g}..{high:g}" if high is not None else f">= {low:g}")
        raise OptionValueError(None, f"{flag} {value:g} is out of range", f"use a value {bound}")
