"""The packaged R4B schema table agrees with the fhir.resources models it was read from."""

from __future__ import annotations

from transforms.fhir import schema
from transforms.fhir.sample import sample_store


def test_table_is_used_and_matches_the_models():
    data = schema.table()
    assert data is not None, "regenerate with: python -m transforms.fhir.schema"
    models = sorted(data["models"])
    assert len(models) > 600 and schema.all_models() == tuple(models)
    used = {schema.resource_model(r["resourceType"]) for r in sample_store(1).resources}
    r4b = [m for m in models if not m.startswith("r4.")]  # r4.*: R4 types R4B removed, read from fhirclient
    checked = sorted(used | set(r4b[::40]))  # building every model takes seconds: a spread sample of them
    for model in checked:
        assert schema.fields(model) == schema._fields_from_model(model), model
        assert schema.required(model) == schema._required_from_model(model), model
        assert data["models"][model]["resource"] == schema._is_resource_class(schema.model_class(model)), model
    for rtype in ("Patient", "Observation", "Bundle", "ImagingStudy", "Resource"):
        assert schema.resource_model(rtype) == schema._resource_model_from_models(rtype)
    assert schema.resource_model("Frobnicator") is None and schema.resource_model("patient") is None
