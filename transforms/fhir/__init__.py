"""Pure fhir de-identification: no Beam, no IO."""
