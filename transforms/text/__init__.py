"""Pure text de-identification: no Beam, no IO."""
