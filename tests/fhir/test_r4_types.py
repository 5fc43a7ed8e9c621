"""Issue 17, item 3: R4 means R4 4.0.1. The R4 resource types R4B removed are read, de-identified and validated."""

from __future__ import annotations

import json

from transforms.fhir import deidentify_resource, schema
from transforms.fhir.codec import parse_resource
from transforms.fhir.validate import r4_errors

# FHIR 4.0.1 resource types that are not in R4B 4.3.0 (R4B's "Resource changes": removed/replaced).
R4_ONLY = ["EffectEvidenceSynthesis", "MedicinalProduct", "MedicinalProductAuthorization",
           "MedicinalProductContraindication", "MedicinalProductIndication", "MedicinalProductIngredient",
           "MedicinalProductInteraction", "MedicinalProductManufactured", "MedicinalProductPackaged",
           "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "RiskEvidenceSynthesis",
           "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein", "SubstanceReferenceInformation",
           "SubstanceSourceMaterial", "SubstanceSpecification"]

MEDICINAL_PRODUCT = {
    "resourceType": "MedicinalProduct", "id": "mp1",
    "name": [{"productName": "Aspirin 100 mg", "countryLanguage": [{"country": {"text": "NL"},
                                                                    "language": {"text": "nl"}}]}],
    "identifier": [{"system": "http://ema.europa.eu/example/MPID", "value": "123"}],
    "contact": [{"reference": "Organization/o1"}],
}


def test_every_r4_only_type_is_known():
    # broken code caught: a type table read from R4B only ("MedicinalProduct: not a FHIR R4 resource type")
    for rtype in R4_ONLY:
        assert schema.resource_model(rtype) is not None, rtype
    assert schema.resource_model("MedicinalProductDefinition") is not None  # R4B's are kept (R4B data accepted)


def test_medicinal_product_is_parsed_deidentified_and_valid(default_policy, keys):
    # broken code caught: parse_resource rejecting an R4 MedicinalProduct; its references left un-rewritten
    resource = parse_resource(json.dumps(MEDICINAL_PRODUCT).encode())
    assert r4_errors(resource) == []
    out = deidentify_resource(resource, default_policy, keys)
    assert out["name"] == MEDICINAL_PRODUCT["name"]
    assert out["contact"][0]["reference"] != "Organization/o1" and out["contact"][0]["reference"].startswith(
        "Organization/")
    assert r4_errors(out) == []


def test_r4_only_structural_check_finds_what_the_definition_forbids():
    # broken code caught: a structural check that accepts anything for types without an R4B model
    assert r4_errors({**MEDICINAL_PRODUCT, "bogus": 1}) == ["MedicinalProduct.<unknown element>: extra_forbidden"]
    assert r4_errors({k: v for k, v in MEDICINAL_PRODUCT.items() if k != "name"}) == ["MedicinalProduct.name: missing"]
    assert r4_errors({**MEDICINAL_PRODUCT, "name": {"productName": "x"}}) == ["MedicinalProduct.name: list_type"]
    bad_ref = {**MEDICINAL_PRODUCT, "contact": [{"reference": 5}]}
    assert r4_errors(bad_ref) and r4_errors(bad_ref)[0].startswith("MedicinalProduct.contact.0.reference")
