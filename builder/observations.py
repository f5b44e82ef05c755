"""`--observation SPEC[,SPEC...]`: how each kaggle observation becomes each model input, as in training.

    SPEC           := REPRESENTATION[:scale=S][:diff][:stack=K][:fill=first|zeros]
    REPRESENTATION := smm | simple115 | simple115v2

One SPEC per model input, in the model's input order; each is checked against its input's shape. Without the option
a single (72, 96, 4) input is the notebook's `smm:scale=255:diff` and a single (115,) input `simple115v2`; any other
model needs the option, and the error lists the specs that fit its shapes. The specs become plain data
(agent_runtime/observation.py runs them in main.py).
"""

from common.errors import OptionValueError

REPRESENTATION_SHAPES = {"smm": (72, 96, 4), "simple115": (115,), "simple115v2": (115,)}
FILLS = ("first", "zeros")


def parse_specs(text: str) -> list:
    """'smm:stack=4,simple115v2' -> [{"representation": "smm", "stack": 4, ...}, {...}]; one line on a bad SPEC."""
    specs = [_parse_one(part.strip()) for part in text.split(",") if part.strip()]
    if not specs:
        raise OptionValueError(None, "--observation names no representation", "pass e.g. --observation smm:diff")
    return specs


def _parse_one(text: str) -> dict:
    representation, *options = text.split(":")
    if representation not in REPRESENTATION_SHAPES:
        raise OptionValueError(None, f"--observation {text!r}: unknown representation {representation!r}",
                               f"use one of {', '.join(REPRESENTATION_SHAPES)}")
    spec = {"representation": representation, "scale": None, "diff": False, "stack": 1, "fill": "first"}
    for option in options:
        key, _, value = option.partition("=")
        try:
            if key == "scale" and value:
                spec["scale"] = float(value)
                if spec["scale"] == 0:
                    raise ValueError
            elif key == "diff" and not value:
                spec["diff"] = True
            elif key == "stack" and value:
                spec["stack"] = int(value)
                if spec["stack"] < 1:
                    raise ValueError
            elif key == "fill" and value in FILLS:
                spec["fill"] = value
            else:
                raise ValueError
        except ValueError:
            raise OptionValueError(None, f"--observation {text!r}: {option!r} is not an option of a SPEC",
                                   "use scale=S (S not 0), diff, stack=K (K >= 1), fill=first or fill=zeros"
                                   ) from None
    return spec


def describe(spec: dict) -> str:
    """The spec as it is written on the command line: `smm:scale=255:diff:stack=4`."""
    parts = [spec["representation"]]
    if spec.get("scale"):
        parts.append(f"scale={spec['scale']:g}")
    if spec.get("diff"):
        parts.append("diff")
    if spec.get("stack", 1) > 1:
        parts.append(f"stack={spec['stack']}")
        if spec.get("fill", "first") != "first":
            parts.append(f"fill={spec['fill']}")
    return ":".join(parts)


def stacked_shape(spec: dict, axis: str) -> tuple:
    base, depth = REPRESENTATION_SHAPES[spec["representation"]], spec.get("stack", 1)
    if depth == 1:
        return base
    if axis == "new":
        return (*base, depth)
    return (*base[:-1], base[-1] * depth)


def fit_to_inputs(specs: list, input_names: list, input_shapes: list) -> list:
    """Each spec checked against its input, with how a stack is laid out ("concat" on the last axis, or "new": a new
    last axis of K, as a (115, 2) input takes it)."""
    if len(specs) != len(input_shapes):
        raise OptionValueError(None, f"--observation gives {len(specs)} SPEC(s) for a model of {len(input_shapes)} "
                               f"input(s) ({', '.join(input_names)})", "give one SPEC per model input, in order: "
                               + _fitting_hint(input_names, input_shapes))
    fitted = []
    for spec, name, shape in zip(specs, input_names, input_shapes, strict=True):
        for axis in ("concat", "new"):
            if tuple(shape) == stacked_shape(spec, axis):
                fitted.append({**spec, "stack_axis": axis})
                break
        else:
            raise OptionValueError(None, f"--observation {describe(spec)} gives {stacked_shape(spec, 'concat')} but "
                                   f"input '{name}' takes {tuple(shape)}",
                                   "use a SPEC that fits: " + (", ".join(fitting_specs(shape)) or "none of gfsub's "
                                                               "representations fits; pass --encoder FILE.py"))
    return fitted


def default_specs(input_names: list, input_shapes: list) -> tuple:
    """-> (specs, True) for the two models gfsub knows the pipeline of; otherwise one line listing what fits."""
    if len(input_shapes) == 1 and tuple(input_shapes[0]) == (72, 96, 4):
        return parse_specs("smm:scale=255:diff"), True
    if len(input_shapes) == 1 and tuple(input_shapes[0]) == (115,):
        return parse_specs("simple115v2"), True
    raise OptionValueError(None, "the model's inputs " + ", ".join(f"'{n}' {tuple(s)}" for n, s in
                                                                   zip(input_names, input_shapes, strict=True))
                           + " need --observation", "pass " + _fitting_hint(input_names, input_shapes))


def fitting_specs(shape) -> list:
    """The basic SPECs whose shape is this one (scale and diff may be added to any)."""
    found = []
    for representation in ("smm", "simple115v2"):
        base = REPRESENTATION_SHAPES[representation]
        if tuple(shape) == base:
            found.append(representation)
        elif len(shape) == len(base) and tuple(shape[:-1]) == base[:-1] and shape[-1] % base[-1] == 0:
            found.append(f"{representation}:stack={shape[-1] // base[-1]}")
        elif len(shape) == len(base) + 1 and tuple(shape[:-1]) == base:
            found.append(f"{representation}:stack={shape[-1]}")
    return found


def _fitting_hint(names: list, shapes: list) -> str:
    per_input = [" or ".join(fitting_specs(shape)) or "--encoder FILE.py" for shape in shapes]
    return "--observation " + ",".join(f"<{hint}>" if " or " in hint else hint for hint in per_input)
