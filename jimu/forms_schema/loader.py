"""Load and check form definitions. Every problem is a FormSchemaError naming the file and field."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from jimu.errors import FormSchemaError
from jimu.forms_schema.export_model import ExportSchemaError, resolve_csv_columns
from jimu.forms_schema.layout import LayoutError, check_leaf_geometry
from jimu.forms_schema.model import FormDefinition

FORMS_DIR = Path(__file__).resolve().parent


def _field_name(form_data: dict, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
        try:
            return f"field '{form_data['fields'][loc[1]]['id']}'"
        except (KeyError, IndexError, TypeError):
            return f"field #{loc[1] + 1}"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        try:
            return f"rule '{form_data['rules'][loc[1]]['name']}'"
        except (KeyError, IndexError, TypeError):
            return f"rule #{loc[1] + 1}"
    return "form"


def parse_form(data: object, source: str) -> FormDefinition:
    if not isinstance(data, dict):
        raise FormSchemaError(f"{source}: expected a mapping at the top level")
    try:
        form = FormDefinition.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = _field_name(data, tuple(err["loc"]))
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "string_type" and isinstance(err.get("input"), bool):
                word = "yes/no/on/off/true/false"
                msg = (f"YAML read this as {str(err['input']).lower()} (one of {word}), not as text: "
                       f"put it in quotes, e.g. id: \"no\"")
            problems.append(f"{where}: {key}: {msg}")
        raise FormSchemaError(f"{source}: " + "; ".join(problems)) from None
    check_form(form, source)
    return form


def check_form(form: FormDefinition, source: str) -> None:
    from jimu.validators.registry import FIELD_VALIDATORS, RULE_KINDS, VOCABULARIES
    from jimu.validators.rules import rule_param_problems

    pw, ph = form.page.width_mm, form.page.height_mm
    boxes = [(f"field '{f.id}'", f.box) for f in form.fields] + [
        (f"heading '{h.text}'", h.full_box) for h in form.headings
    ]
    for name, b in boxes:
        if not b.inside(pw, ph):
            raise FormSchemaError(f"{source}: {name}: box {b.x},{b.y} {b.w}×{b.h} mm lies outside the page")
    for i, (na, a) in enumerate(boxes):
        for nb, b in boxes[i + 1 :]:
            if a.overlaps(b):
                raise FormSchemaError(f"{source}: {na} overlaps {nb}")
    for n in form.notes:
        if not (0 <= n.x <= pw and 0 <= n.y <= ph):
            raise FormSchemaError(f"{source}: note '{n.text[:10]}…' lies outside the page")
    for f in form.fields:
        names = list(f.validators) + [v for c in f.columns for v in c.validators]
        for v in names:
            if v not in FIELD_VALIDATORS:
                raise FormSchemaError(f"{source}: field '{f.id}': unknown validator '{v}'")
        vocabs = [f.vocabulary] + [c.vocabulary for c in f.columns]
        for voc in vocabs:
            if voc is not None and voc not in VOCABULARIES:
                raise FormSchemaError(f"{source}: field '{f.id}': unknown vocabulary '{voc}'")
    leaf_ids = set()
    for leaf in form.leaf_fields():
        leaf_ids.add(leaf.id)
        try:
            check_leaf_geometry(leaf)
        except LayoutError as e:
            raise FormSchemaError(f"{source}: field '{leaf.id}': {e}") from None
    for leaf in form.leaf_fields():
        if leaf.reading_of and leaf.reading_of not in leaf_ids:
            raise FormSchemaError(f"{source}: field '{leaf.id}': reading_of names unknown field '{leaf.reading_of}'")
    table_ids = {f.id for f in form.fields if f.kind == "table"}
    rule_names = set()
    for r in form.rules:
        if r.name in rule_names:
            raise FormSchemaError(f"{source}: rule '{r.name}' is defined twice")
        rule_names.add(r.name)
        if r.kind not in RULE_KINDS:
            raise FormSchemaError(f"{source}: rule '{r.name}': unknown rule kind '{r.kind}'")
        for fid in r.fields:
            if fid not in leaf_ids and fid not in table_ids:
                raise FormSchemaError(f"{source}: rule '{r.name}': unknown field '{fid}'")
        if problems := rule_param_problems(r):  # a bad parameter is a load error, not a failure at run time
            raise FormSchemaError(f"{source}: rule '{r.name}' ({r.kind}): " + "; ".join(problems))
    try:
        resolve_csv_columns(form)
    except ExportSchemaError as e:
        raise FormSchemaError(f"{source}: {e}") from None


def load_form_file(path: Path) -> FormDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FormSchemaError(f"{path.name}: cannot read ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise FormSchemaError(f"{path.name}: not valid YAML ({e})") from None
    form = parse_form(data, path.name).with_source_dir(path.resolve().parent)
    if form.form_id != path.stem:
        raise FormSchemaError(f"{path.name}: form_id '{form.form_id}' does not match the file name")
    check_template_image(form, path.name)
    return form


def check_template_image(form: FormDefinition, source: str) -> None:
    """A named blank must exist beside the YAML and be an image of the page's size at its dpi (±3 %)."""
    p = form.template_image_path
    if p is None or form.template_image is None:
        return
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            w, h = im.size
    except (OSError, UnidentifiedImageError) as e:
        raise FormSchemaError(f"{source}: template_image '{form.template_image.file}' cannot be read "
                              f"({type(e).__name__}); put the blank scan beside the YAML") from None
    dpi = form.template_image.dpi
    ew, eh = form.page.width_mm * dpi / 25.4, form.page.height_mm * dpi / 25.4
    if abs(w / ew - 1) > 0.03 or abs(h / eh - 1) > 0.03:
        raise FormSchemaError(f"{source}: template_image is {w}×{h} px, but the page at {dpi:g} dpi is "
                              f"{ew:.0f}×{eh:.0f} px: check its dpi, or crop the scan to the paper")


def forms_dirs() -> tuple[Path, ...]:
    """Where forms are loaded from: Jimu's own folder, then each folder in ``JIMU_FORMS_DIRS``
    (``os.pathsep``-separated), where a city keeps its own forms (YAML + blank scan)."""
    from jimu.settings import get_settings

    return (FORMS_DIR, *get_settings().extra_forms_dirs)


def load_all_forms(forms_dir: Path | None = None) -> dict[str, FormDefinition]:
    """Every form, by id (cached per set of folders; :func:`clear_cache` after changing a YAML)."""
    return _load_dirs((forms_dir,) if forms_dir is not None else forms_dirs())


def clear_cache() -> None:
    _load_dirs.cache_clear()


load_all_forms.cache_clear = clear_cache  # type: ignore[attr-defined]


@lru_cache(maxsize=8)
def _load_dirs(dirs: tuple[Path, ...]) -> dict[str, FormDefinition]:
    forms: dict[str, FormDefinition] = {}
    for d in dirs:
        if not d.is_dir():
            raise FormSchemaError(f"forms folder not found: {d}", hint="Check JIMU_FORMS_DIRS.")
        for p in sorted(d.glob("*.yaml")):
            f = load_form_file(p)
            if f.form_id in forms:
                raise FormSchemaError(f"{p}: form '{f.form_id}' is defined twice")
            forms[f.form_id] = f
    if not forms:
        raise FormSchemaError(f"no form definitions found in {', '.join(str(d) for d in dirs)}")
    return forms


def get_form(form_id: str) -> FormDefinition:
    forms = load_all_forms()
    if form_id not in forms:
        raise FormSchemaError(f"unknown form '{form_id}'", hint=f"Known forms: {', '.join(forms)}")
    return forms[form_id]
