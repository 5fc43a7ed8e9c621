"""Pure dicom de-identification: no Beam, no IO."""
