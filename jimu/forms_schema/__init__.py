"""Form definitions as data: one YAML per form, loaded into strict pydantic models."""

from jimu.forms_schema.loader import get_form, load_all_forms, load_form_file, parse_form
from jimu.forms_schema.model import FormDefinition, FormField, LeafField

__all__ = ["FormDefinition", "FormField", "LeafField", "get_form", "load_all_forms", "load_form_file", "parse_form"]
