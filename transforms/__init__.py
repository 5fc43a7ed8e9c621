"""De-identification logic: config model, keys and the pure DICOM/FHIR/text/image cores."""
